import type { FaultKind } from './faults.js';

/**
 * Counters of everything the emulator saw. "Requests" count HTTP requests (faulted ones included);
 * the outcome counters split them: for each of grant/refresh/revoke/api,
 * `Requests = Successes + Errors (+ Throttled) + Faulted`.
 */
export interface EmulatorStats {
  /** Every HTTP request on any listener. */
  requests: number;
  /** `GET /oauth/v2/auth`. */
  authPageRequests: number;
  /** Approve/deny decisions, by form POST or by `emu.approve` / `emu.deny`. */
  consentDecisions: number;
  /** Every `POST /oauth/v2/token`, whatever its grant type. */
  tokenRequests: number;
  /** `grant_type=authorization_code`. */
  grantRequests: number;
  /** Answered with tokens. */
  grantSuccesses: number;
  /** Answered with an OAuth error (injected throttles included). */
  grantErrors: number;
  /** Answered by an injected `status`, `malformed` or `reset` fault. */
  grantFaulted: number;
  /** `grant_type=refresh_token`. */
  refreshRequests: number;
  /** Answered with an access token. */
  refreshSuccesses: number;
  /** "Access Denied", real or injected. */
  refreshThrottled: number;
  /** Answered with an OAuth error other than "Access Denied". */
  refreshErrors: number;
  /** Answered by an injected `status`, `malformed` or `reset` fault. */
  refreshFaulted: number;
  /** Revoke endpoint. */
  revokeRequests: number;
  /** Answered with success. */
  revokeSuccesses: number;
  /** Answered with an error (injected throttles included). */
  revokeErrors: number;
  /** Answered by an injected `status`, `malformed` or `reset` fault. */
  revokeFaulted: number;
  /** `/crm/v8/…`. */
  apiRequests: number;
  /** Answered below HTTP 400. */
  apiSuccesses: number;
  /** Answered HTTP 400 or above by the route (injected throttles included). */
  apiErrors: number;
  /** Answered by an injected `status`, `malformed` or `reset` fault. */
  apiFaulted: number;
  /**
   * Requests (any route) whose client closed the connection before the answer was written: a
   * cancelled fetch, a client's timeout. Injected `reset` faults are not counted.
   */
  clientAborts: number;
  /** Grant codes handed out (web flow and Self Client). */
  codesIssued: number;
  /** Refresh tokens minted (by code exchanges). */
  refreshTokensIssued: number;
  /** Access tokens minted (by code exchanges and refreshes). */
  accessTokensIssued: number;
  /** Access tokens killed because a refresh token exceeded its live-token cap. */
  accessTokensEvicted: number;
  /** Refresh tokens deleted because a user+client exceeded its refresh-token cap. */
  refreshTokensEvicted: number;
  /** By `METHOD /route` (ids replaced by `{id}`), e.g. `POST /oauth/v2/token`. */
  byEndpoint: Record<string, number>;
  /** By error answered: OAuth `error` values (`invalid_code`, `Access Denied`, …) and API codes (`INVALID_TOKEN`, …). */
  byError: Record<string, number>;
  /** By data center location of the listener hit. */
  byDataCenter: Record<string, number>;
  /** Faults applied, by kind. */
  faults: Record<FaultKind, number>;
}

type NumericKey = { [K in keyof EmulatorStats]: EmulatorStats[K] extends number ? K : never }[keyof EmulatorStats];
type MapKey = 'byEndpoint' | 'byError' | 'byDataCenter';

function empty(): EmulatorStats {
  return {
    requests: 0,
    authPageRequests: 0,
    consentDecisions: 0,
    tokenRequests: 0,
    grantRequests: 0,
    grantSuccesses: 0,
    grantErrors: 0,
    grantFaulted: 0,
    refreshRequests: 0,
    refreshSuccesses: 0,
    refreshThrottled: 0,
    refreshErrors: 0,
    refreshFaulted: 0,
    revokeRequests: 0,
    revokeSuccesses: 0,
    revokeErrors: 0,
    revokeFaulted: 0,
    apiRequests: 0,
    apiSuccesses: 0,
    apiErrors: 0,
    apiFaulted: 0,
    clientAborts: 0,
    codesIssued: 0,
    refreshTokensIssued: 0,
    accessTokensIssued: 0,
    accessTokensEvicted: 0,
    refreshTokensEvicted: 0,
    byEndpoint: {},
    byError: {},
    byDataCenter: {},
    faults: { latency: 0, status: 0, malformed: 0, reset: 0, throttle: 0 },
  };
}

export class StatsRecorder {
  #stats = empty();

  add(key: NumericKey, by = 1): void {
    this.#stats[key] += by;
  }

  tally(map: MapKey, key: string): void {
    const counts = this.#stats[map];
    counts[key] = (counts[key] ?? 0) + 1;
  }

  fault(kind: FaultKind): void {
    this.#stats.faults[kind] += 1;
  }

  /** A deep copy: later requests do not change it. */
  snapshot(): EmulatorStats {
    return structuredClone(this.#stats);
  }

  reset(): void {
    this.#stats = empty();
  }
}
