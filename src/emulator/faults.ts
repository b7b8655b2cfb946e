import { invalid } from './invalid-argument.js';

/** Which requests a fault applies to. `all` means every request to any listener. */
export type FaultTarget = 'token' | 'revoke' | 'api' | 'auth' | 'all';

/**
 * - `latency`: wait `ms` (real time) before answering; combines with any other fault.
 * - `status`: answer HTTP `status` (5xx) with an HTML body, as a failing proxy would.
 * - `malformed`: answer HTTP 200 `application/json` with a truncated JSON body.
 * - `reset`: destroy the socket without answering.
 * - `throttle`: token/revoke answer Zoho's "Access Denied" body (HTTP 200); the API answers
 *   HTTP 429 `TOO_MANY_REQUESTS`; the auth page answers an HTTP 429 error page.
 */
export type FaultKind = 'latency' | 'status' | 'malformed' | 'reset' | 'throttle';

/** A fault to inject: `emu.faults.inject(spec)` or the `faults` option. */
export interface FaultSpec {
  /** What the fault does. */
  readonly kind: FaultKind;
  /** @default 'all' */
  readonly target?: FaultTarget;
  /** Only requests to this data center's listener. @default every data center */
  readonly dc?: string;
  /** How many matching requests it applies to; then it is removed. @default Infinity (until cleared) */
  readonly times?: number;
  /** For `latency`: delay in real milliseconds. @default 1000 */
  readonly ms?: number;
  /** For `status`: the HTTP status to answer. @default 503 */
  readonly status?: number;
  /** For `throttle` on the API: the 429 carries `Retry-After: <seconds>`. @default no header */
  readonly retryAfterSeconds?: number;
}

/** A live fault, as returned by `inject`. */
export interface FaultHandle {
  /** Unique per emulator, increasing from 1. */
  readonly id: number;
  /** The spec with its defaults filled in. */
  readonly spec: Readonly<Required<Omit<FaultSpec, 'dc' | 'retryAfterSeconds'>>> & {
    /** The data center it is limited to, or `undefined` for every one. */
    readonly dc: string | undefined;
    /** The API throttle's `Retry-After` seconds, or `undefined` for none. */
    readonly retryAfterSeconds: number | undefined;
  };
  /** Requests it still applies to (Infinity until cleared). */
  readonly remaining: number;
  /** Stops it (no-op if already gone). */
  remove(): void;
}

/** `emu.faults`: make the emulator fail on purpose. */
export interface FaultControls {
  /**
   * Adds a fault; it applies to matching requests from now on.
   *
   * @throws `ZohoTokenError` `INVALID_ARGUMENT` (with `field`) for an unknown kind or target,
   *   `times` < 1, a negative or non-finite `ms`, or a `status` outside 100–599.
   */
  inject(spec: FaultSpec): FaultHandle;
  /** Removes every fault, or only those aimed exactly at `target`. */
  clear(target?: FaultTarget): void;
  /** Active faults, oldest first. */
  list(): FaultHandle[];
}

/** What the handler must do for one request. */
export interface FaultDecision {
  /** Total extra delay in ms (0 for none). */
  readonly latencyMs: number;
  /** The first non-latency fault that matched, if any. */
  readonly fault?: {
    readonly kind: Exclude<FaultKind, 'latency'>;
    readonly status: number;
    readonly retryAfterSeconds?: number | undefined;
  };
  /** Kinds applied, for the stats. */
  readonly applied: readonly FaultKind[];
}

interface Entry {
  readonly id: number;
  readonly kind: FaultKind;
  readonly target: FaultTarget;
  readonly dc: string | undefined;
  readonly times: number;
  readonly ms: number;
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;
  remaining: number;
}

const KINDS: readonly FaultKind[] = ['latency', 'status', 'malformed', 'reset', 'throttle'];
const TARGETS: readonly FaultTarget[] = ['token', 'revoke', 'api', 'auth', 'all'];

export class FaultRegistry implements FaultControls {
  #entries: Entry[] = [];
  #nextId = 1;

  inject(spec: FaultSpec): FaultHandle {
    if (!KINDS.includes(spec.kind)) throw invalid('kind', `unknown fault kind "${String(spec.kind)}"`);
    const target = spec.target ?? 'all';
    if (!TARGETS.includes(target)) throw invalid('target', `unknown fault target "${String(target)}"`);
    const times = spec.times ?? Infinity;
    if (!(times >= 1)) throw invalid('times', 'fault times must be >= 1');
    const ms = spec.ms ?? 1000;
    if (!Number.isFinite(ms) || ms < 0) throw invalid('ms', 'fault ms must be a finite number >= 0');
    const status = spec.status ?? 503;
    if (!Number.isInteger(status) || status < 100 || status > 599)
      throw invalid('status', 'fault status must be an HTTP status');
    const retryAfterSeconds = spec.retryAfterSeconds;
    if (retryAfterSeconds !== undefined && !(Number.isInteger(retryAfterSeconds) && retryAfterSeconds >= 0))
      throw invalid('retryAfterSeconds', 'fault retryAfterSeconds must be an integer >= 0');
    const entry: Entry = {
      id: this.#nextId++,
      kind: spec.kind,
      target,
      dc: spec.dc,
      times,
      ms,
      status,
      retryAfterSeconds,
      remaining: times,
    };
    this.#entries.push(entry);
    return this.#handle(entry);
  }

  clear(target?: FaultTarget): void {
    this.#entries = target === undefined ? [] : this.#entries.filter((e) => e.target !== target);
  }

  list(): FaultHandle[] {
    return this.#entries.map((e) => this.#handle(e));
  }

  /** Picks (and consumes) the faults for one request to `target` on data center `dc`. */
  take(target: Exclude<FaultTarget, 'all'>, dc: string): FaultDecision {
    let latencyMs = 0;
    let fault: FaultDecision['fault'];
    const applied: FaultKind[] = [];
    for (const e of this.#entries) {
      if (e.target !== 'all' && e.target !== target) continue;
      if (e.dc !== undefined && e.dc !== dc) continue;
      if (e.kind === 'latency') latencyMs += e.ms;
      else if (fault === undefined) fault = { kind: e.kind, status: e.status, retryAfterSeconds: e.retryAfterSeconds };
      else continue; // only one terminal fault per request; later ones keep their budget
      e.remaining -= 1;
      applied.push(e.kind);
    }
    this.#entries = this.#entries.filter((e) => e.remaining > 0);
    return fault === undefined ? { latencyMs, applied } : { latencyMs, fault, applied };
  }

  #handle(entry: Entry): FaultHandle {
    const isLive = (): boolean => this.#entries.includes(entry);
    const remove = (): void => {
      this.#entries = this.#entries.filter((e) => e !== entry);
    };
    return {
      id: entry.id,
      spec: {
        kind: entry.kind,
        target: entry.target,
        dc: entry.dc,
        times: entry.times,
        ms: entry.ms,
        status: entry.status,
        retryAfterSeconds: entry.retryAfterSeconds,
      },
      get remaining() {
        return isLive() ? entry.remaining : 0;
      },
      remove,
    };
  }
}
