import { parseArgs } from 'node:util';
/** The kinds of shared store a soak runs on, each with its own emulator, client and users. */
export const STORE_KINDS = ['sqlite', 'file', 'postgres', 'mysql', 'redis'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/** Every fault the soak injects; each is counted per store in the report. */
export const FAULT_KINDS = [
  'token-5xx',
  'token-timeout',
  'token-reset',
  'token-malformed',
  'token-throttle',
  'token-outage',
  'api-401',
  'api-5xx',
  'lock-holder-killed',
  'db-cut',
] as const;
export type FaultKindName = (typeof FAULT_KINDS)[number];

export interface SoakConfig {
  readonly name: 'full' | 'short';
  readonly seed: number;
  readonly stores: readonly StoreKind[];
  /** Worker processes, each serving every store. */
  readonly workers: number;
  /** Users per store; every worker calls all of them at random. */
  readonly users: number;
  /** Simulated time, after a first hour of staggered logins. */
  readonly hours: number;
  /** The emulator clock moves this much between steps (time is frozen within a step). */
  readonly stepMinutes: number;
  /** Calls per worker per store per step. */
  readonly callsPerStep: number;
  /** Clock skew of the workers: spread evenly over ±this many minutes. */
  readonly maxSkewMinutes: number;
  /** Probability per step and store of each count-based fault. */
  readonly faultRate: number;
  /** Probability per simulated hour and store of a token-endpoint outage (10–25 simulated minutes). */
  readonly outageRatePerHour: number;
  /** Probability per step of arming one worker to SIGKILL itself during its next refresh. */
  readonly killRate: number;
  /** Probability per step and server store of a connection cut (real seconds). */
  readonly cutRate: number;
  readonly cutMs: number;
  /** Short runs force every fault kind on every store once, early. */
  readonly forceEveryFault: boolean;
}

/** ZohoAuth settings in the workers: short timeouts and leases so faults cost little real time. */
export const AUTH_SETTINGS = {
  refreshMarginMs: 300_000,
  timeoutMs: 400,
  retries: 2,
  lockLeaseMs: 3_000,
  lockWaitMs: 8_000,
  apiTimeoutMs: 1_000,
  /** An injected latency longer than the timeouts above: a timeout as the client sees it. */
  timeoutFaultMs: 700,
  apiTimeoutFaultMs: 1_300,
} as const;

export const FULL: SoakConfig = {
  name: 'full',
  seed: 20261205,
  stores: STORE_KINDS,
  workers: 8,
  users: 200,
  hours: 24,
  stepMinutes: 2,
  callsPerStep: 4,
  maxSkewMinutes: 15,
  faultRate: 0.04,
  outageRatePerHour: 0.15,
  killRate: 0.012,
  cutRate: 0.008,
  cutMs: 2_000,
  forceEveryFault: false,
};

export const SHORT: SoakConfig = {
  name: 'short',
  seed: 20261205,
  stores: STORE_KINDS,
  workers: 3,
  users: 16,
  hours: 3,
  stepMinutes: 5,
  callsPerStep: 4,
  maxSkewMinutes: 15,
  faultRate: 0.05,
  outageRatePerHour: 0,
  killRate: 0,
  cutRate: 0,
  cutMs: 1_500,
  forceEveryFault: true,
};

/** A mistyped command line (reported in one line, without a stack). */
export class SoakUsageError extends Error {}

/** `--short`, `--seed N`, `--hours N`, `--workers N`, `--users N`, `--skew MINUTES`, `--stores a,b` (node:util's parseArgs). */
export function parseSoakArgs(argv: readonly string[]): SoakConfig {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      short: { type: 'boolean' },
      seed: { type: 'string' },
      hours: { type: 'string' },
      workers: { type: 'string' },
      users: { type: 'string' },
      skew: { type: 'string' },
      stores: { type: 'string' },
    },
  });
  const positive = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new SoakUsageError(`--${name} needs a positive integer`);
    return n;
  };
  const base = values.short ? SHORT : FULL;
  const config: SoakConfig = {
    ...base,
    seed: positive('seed', values.seed) ?? base.seed,
    hours: positive('hours', values.hours) ?? base.hours,
    workers: positive('workers', values.workers) ?? base.workers,
    users: positive('users', values.users) ?? base.users,
  };
  if (values.skew !== undefined) {
    const minutes = Number(values.skew);
    if (!Number.isFinite(minutes) || minutes < 0) throw new SoakUsageError('--skew needs a number of minutes >= 0');
    return withStores({ ...config, maxSkewMinutes: minutes }, values.stores);
  }
  return withStores(config, values.stores);
}

function withStores(config: SoakConfig, list: string | undefined): SoakConfig {
  if (list === undefined) return config;
  const kinds = list.split(',');
  const bad = kinds.filter((k) => !(STORE_KINDS as readonly string[]).includes(k));
  if (bad.length > 0)
    throw new SoakUsageError(`--stores: unknown ${bad.join(', ')} (known: ${STORE_KINDS.join(', ')})`);
  return { ...config, stores: kinds as StoreKind[] };
}
