import type { FaultHandle, ZohoEmulator } from 'zoho-token-store/emulator';
import { AUTH_SETTINGS, type SoakConfig } from './config.js';
import type { Ledger } from './ledger.js';
import type { Random } from './random.js';
import type { TcpProxy } from './tcp-proxy.js';

/** The pieces of one store the fault plan acts on. */
export interface FaultTargets {
  readonly emu: ZohoEmulator;
  readonly proxy: TcpProxy | undefined;
  readonly ledger: Ledger;
}

type CountFault =
  'token-5xx' | 'token-timeout' | 'token-reset' | 'token-malformed' | 'token-throttle' | 'api-401' | 'api-5xx';
const COUNT_FAULTS: readonly CountFault[] = [
  'token-5xx',
  'token-timeout',
  'token-reset',
  'token-malformed',
  'token-throttle',
  'api-401',
  'api-5xx',
];

/** Short runs: every count fault in the first steps, then an outage, a cut and a kill on each store. */
const FORCED: Readonly<Record<number, readonly CountFault[]>> = {
  1: ['token-5xx', 'token-reset'],
  2: ['token-malformed', 'token-throttle'],
  3: ['token-timeout', 'api-401'],
  4: ['api-5xx', 'api-401'],
};
const FORCED_OUTAGE_STEP = 6;
const FORCED_CUT_STEP = 12;
const FORCED_KILL_STEP = 14;

/** A worker to SIGKILL during its next refresh on a store. */
export interface KillOrder {
  readonly worker: number;
  readonly store: number;
}

/**
 * Decides, before each step, which faults to inject where: count-based faults through the
 * emulator's fault injection, token-endpoint outages (a 503 until the window ends, emulator time),
 * connection cuts at the store's proxy (real time) and lock holders to kill.
 */
export class FaultPlan {
  readonly #config: SoakConfig;
  readonly #random: Random;
  readonly #targets: readonly FaultTargets[];
  readonly #latency: FaultHandle[][];
  readonly #outages: ({ handle: FaultHandle; until: number } | undefined)[];

  constructor(config: SoakConfig, random: Random, targets: readonly FaultTargets[]) {
    this.#config = config;
    this.#random = random;
    this.#targets = targets;
    this.#latency = targets.map(() => []);
    this.#outages = targets.map(() => undefined);
  }

  /** Injects this step's faults at emulator time `now`; returns the kills to arm. */
  beforeStep(step: number, now: number): KillOrder[] {
    const config = this.#config;
    const stepMs = config.stepMinutes * 60_000;
    const kills: KillOrder[] = [];
    for (const [index, target] of this.#targets.entries()) {
      const outage = this.#outages[index];
      if (outage !== undefined && outage.until <= now) {
        outage.handle.remove();
        this.#outages[index] = undefined;
      }
      const forced = config.forceEveryFault ? (FORCED[step] ?? []) : [];
      for (const kind of COUNT_FAULTS) {
        if (forced.includes(kind) || this.#random.chance(config.faultRate)) this.#inject(index, kind);
      }
      const outageNow = config.forceEveryFault
        ? step === FORCED_OUTAGE_STEP
        : this.#random.chance((config.outageRatePerHour * config.stepMinutes) / 60);
      if (outageNow && this.#outages[index] === undefined) {
        const minutes = config.forceEveryFault ? 20 : this.#random.int(10, 25);
        this.#outages[index] = {
          handle: target.emu.faults.inject({ kind: 'status', status: 503, target: 'token' }),
          until: now + minutes * 60_000 - stepMs / 2,
        };
        target.ledger.figures.faults['token-outage']++;
      }
      const cutNow = config.forceEveryFault ? step === FORCED_CUT_STEP : this.#random.chance(config.cutRate);
      if (cutNow && target.proxy !== undefined) {
        target.proxy.cut(config.cutMs);
        target.ledger.figures.faults['db-cut']++;
      }
      // Armed again every step until it fires: a worker holds one armed store at a time, so with
      // fewer workers than stores a later store's order would replace one that never fired.
      if (
        config.forceEveryFault &&
        step >= FORCED_KILL_STEP + index &&
        target.ledger.figures.faults['lock-holder-killed'] === 0
      )
        kills.push({ worker: index % config.workers, store: index });
    }
    // An armed worker stays armed until it refreshes on that store; arming it again changes nothing.
    if (!config.forceEveryFault && this.#random.chance(config.killRate)) {
      kills.push({
        worker: this.#random.int(0, config.workers - 1),
        store: this.#random.int(0, this.#targets.length - 1),
      });
    }
    return kills;
  }

  /** A worker died mid-refresh as ordered. */
  killed(store: number): void {
    this.#targets[store]!.ledger.figures.faults['lock-holder-killed']++;
  }

  /** Timeouts that actually hit a token request (injected latency consumed), per store. */
  timeoutsApplied(store: number): number {
    return this.#latency[store]!.reduce((sum, h) => sum + (h.spec.times - h.remaining), 0);
  }

  #inject(index: number, kind: CountFault): void {
    const faults = this.#targets[index]!.emu.faults;
    const times = this.#random.int(1, 2);
    switch (kind) {
      case 'token-5xx':
        faults.inject({ kind: 'status', status: this.#random.pick([500, 502, 503, 504]), target: 'token', times });
        break;
      case 'token-timeout':
        this.#latency[index]!.push(
          faults.inject({ kind: 'latency', ms: AUTH_SETTINGS.timeoutFaultMs, target: 'token', times: 1 }),
        );
        break;
      case 'token-reset':
        faults.inject({ kind: 'reset', target: 'token', times });
        break;
      case 'token-malformed':
        faults.inject({ kind: 'malformed', target: 'token', times });
        break;
      case 'token-throttle':
        faults.inject({ kind: 'throttle', target: 'token', times: 1 });
        break;
      case 'api-401':
        faults.inject({ kind: 'status', status: 401, target: 'api', times });
        break;
      case 'api-5xx':
        faults.inject({ kind: 'status', status: this.#random.pick([500, 502, 503]), target: 'api', times });
        break;
    }
  }

  /** Ends every outage and pending fault (before the final checks). */
  clear(): void {
    for (const target of this.#targets) target.emu.faults.clear();
  }
}
