import type { OAuthToken } from 'zoho-token-store';
import type { EmulatorObserver, RequestEvent, TokenIssuedEvent } from 'zoho-token-store/emulator';
import { AUTH_SETTINGS, type FaultKindName } from './config.js';
import { digest } from './protocol.js';

/** What the emulator minted, as the ledger keeps it (the token itself only as a digest key). */
interface Minted {
  readonly user: string;
  readonly grant: TokenIssuedEvent['grantType'];
  readonly issuedAt: number;
  readonly expiresAt: number;
  handedOut: boolean;
  /** An injected API 401 rejected it: its successor is a legitimate early refresh. */
  rejected: boolean;
}

/** The invariant counters of one store, as reported. */
export interface StoreFigures {
  calls: number;
  handouts: number;
  expiredHandedOut: number;
  foreignHandedOut: number;
  usersLost: number;
  usersDuplicated: number;
  refreshTokensChanged: number;
  refreshTokensErasedButHonoured: number;
  refreshRequests: number;
  refreshesIssued: number;
  expiries: number;
  faultedAttempts: number;
  earlyRefreshes: number;
  wastedMints: number;
  stormUserSteps: number;
  worstStorm: string;
  selfThrottles: number;
  secretsInLogs: number;
  faults: Record<FaultKindName, number>;
  callErrors: Record<string, number>;
}

/**
 * Everything one store's emulator minted and answered, and what the workers handed out: the
 * ground truth the invariants are checked against. Fed by the emulator's observer (synchronous,
 * in this process) and by the workers' step reports.
 */
export class Ledger {
  readonly users: readonly string[];
  readonly #minted = new Map<string, Minted>();
  readonly #byUser = new Map<string, Minted[]>();
  readonly #loginRefresh = new Map<string, string>();
  readonly #userOfRefresh = new Map<string, string>();
  /** 32-hex halves of every secret the emulator issued (tokens, codes), for the log search. */
  readonly secretParts = new Set<string>();
  readonly clientSecret: string;
  readonly #lost = new Set<string>();
  readonly #duplicated = new Set<string>();
  readonly #changed = new Set<string>();
  readonly #erased = new Set<string>();
  #stepRefreshes = new Map<string, number>();
  #step401s = new Map<string, number>();
  readonly #maxSkewMs: number;
  readonly #stepMs: number;
  readonly figures: StoreFigures;

  constructor(users: readonly string[], clientSecret: string, maxSkewMs: number, stepMs: number) {
    this.users = users;
    this.clientSecret = clientSecret;
    this.#maxSkewMs = maxSkewMs;
    this.#stepMs = stepMs;
    this.figures = {
      calls: 0,
      handouts: 0,
      expiredHandedOut: 0,
      foreignHandedOut: 0,
      usersLost: 0,
      usersDuplicated: 0,
      refreshTokensChanged: 0,
      refreshTokensErasedButHonoured: 0,
      refreshRequests: 0,
      refreshesIssued: 0,
      expiries: 0,
      faultedAttempts: 0,
      earlyRefreshes: 0,
      wastedMints: 0,
      stormUserSteps: 0,
      worstStorm: '-',
      selfThrottles: 0,
      secretsInLogs: 0,
      faults: {
        'token-5xx': 0,
        'token-timeout': 0,
        'token-reset': 0,
        'token-malformed': 0,
        'token-throttle': 0,
        'token-outage': 0,
        'api-401': 0,
        'api-5xx': 0,
        'lock-holder-killed': 0,
        'db-cut': 0,
      },
      callErrors: {},
    };
  }

  readonly observer: EmulatorObserver = {
    onTokenIssued: (e) => this.#issued(e),
    onRequest: (e) => this.#request(e),
  };

  #issued(e: TokenIssuedEvent): void {
    const minted: Minted = {
      user: e.user,
      grant: e.grantType,
      issuedAt: e.issuedAt,
      expiresAt: e.expiresAt,
      handedOut: false,
      rejected: false,
    };
    this.#minted.set(digest(e.accessToken), minted);
    const list = this.#byUser.get(e.user) ?? [];
    list.push(minted);
    this.#byUser.set(e.user, list);
    this.#remember(e.accessToken);
    if (e.refreshToken !== undefined) {
      this.#loginRefresh.set(e.user, e.refreshToken);
      this.#userOfRefresh.set(e.refreshToken, e.user);
      this.#remember(e.refreshToken);
    }
    if (e.grantType === 'refresh_token') this.figures.refreshesIssued++;
  }

  #request(e: RequestEvent): void {
    if (e.token !== undefined) this.#remember(e.token);
    if (e.category === 'refresh') {
      this.figures.refreshRequests++;
      const user = e.token === undefined ? undefined : this.#userOfRefresh.get(e.token);
      if (user !== undefined) this.#stepRefreshes.set(user, (this.#stepRefreshes.get(user) ?? 0) + 1);
      if (e.fault !== undefined) {
        this.figures.faultedAttempts++;
        const name =
          e.fault === 'status'
            ? 'token-5xx'
            : e.fault === 'reset'
              ? 'token-reset'
              : e.fault === 'malformed'
                ? 'token-malformed'
                : 'token-throttle';
        this.figures.faults[name]++;
      } else if (e.outcome === 'Access Denied') {
        // Not injected: the library earned it by refreshing too often.
        this.figures.selfThrottles++;
      }
    } else if (e.category === 'api' && e.fault === 'status' && e.token !== undefined) {
      const minted = this.#minted.get(digest(e.token));
      if (e.status === 401) {
        this.figures.faults['api-401']++;
        if (minted !== undefined) {
          minted.rejected = true;
          this.#step401s.set(minted.user, (this.#step401s.get(minted.user) ?? 0) + 1);
        }
      } else {
        this.figures.faults['api-5xx']++;
      }
    }
  }

  #remember(secret: string): void {
    for (const part of secret.match(/[0-9a-f]{32}/g) ?? []) this.secretParts.add(part);
  }

  /** A token a worker handed to the application at emulator time `now`. */
  handout(user: number, tokenDigest: string, now: number): void {
    this.figures.handouts++;
    const minted = this.#minted.get(tokenDigest);
    if (minted === undefined || minted.user !== this.users[user]) {
      this.figures.foreignHandedOut++;
      return;
    }
    minted.handedOut = true;
    if (minted.expiresAt <= now) this.figures.expiredHandedOut++;
  }

  /**
   * Ends a step: no user may see more refresh requests than one round (1 + retries) per worker
   * that called it, per API 401 and per killed worker. More is a refresh storm (no back-off).
   */
  endStep(step: number, workersByUser: ReadonlyMap<number, number>, killedWorkers: number): void {
    const round = AUTH_SETTINGS.retries + 1;
    for (const [user, requests] of this.#stepRefreshes) {
      const index = this.users.indexOf(user);
      // At least one round: an answer delayed by injected latency may land in the step after its call.
      const allowed =
        round * Math.max(1, (workersByUser.get(index) ?? 0) + (this.#step401s.get(user) ?? 0) + killedWorkers);
      if (requests > allowed) {
        this.figures.stormUserSteps++;
        if (this.figures.worstStorm === '-' || requests > Number(this.figures.worstStorm.split(' ')[0])) {
          this.figures.worstStorm = `${requests} requests (allowed ${allowed}) at step ${step}`;
        }
      }
    }
    this.#stepRefreshes = new Map();
    this.#step401s = new Map();
  }

  /** A snapshot of the store: every user has exactly one row, holding the refresh token it logged in with. */
  checkpoint(
    rows: readonly OAuthToken[],
    clientId: string,
    honoured: (user: string, refreshToken: string) => boolean,
  ): void {
    const byUser = new Map<string, OAuthToken[]>();
    for (const row of rows) {
      const user = row.userName;
      if (row.clientId !== clientId || user === null) continue;
      const list = byUser.get(user) ?? [];
      list.push(row);
      byUser.set(user, list);
    }
    for (const user of this.users) {
      const found = byUser.get(user) ?? [];
      if (found.length === 0) this.#lost.add(user);
      if (found.length > 1) this.#duplicated.add(user);
      const login = this.#loginRefresh.get(user);
      for (const row of found) {
        if (login === undefined || row.refreshToken === login) continue;
        if (!row.refreshToken && honoured(user, login)) this.#erased.add(user);
        else this.#changed.add(user);
      }
    }
    this.figures.usersLost = this.#lost.size;
    this.figures.usersDuplicated = this.#duplicated.size;
    this.figures.refreshTokensChanged = this.#changed.size;
    this.figures.refreshTokensErasedButHonoured = this.#erased.size;
  }

  /**
   * Final figures at emulator time `end`. A user's chain is its login token and every refreshed
   * token that was handed out (the others were lost to a fault). An expiry is a chain token whose
   * refresh point passed, that an API 401 rejected, or that was replaced within what the skew
   * explains. An early refresh replaced a chain token that still had more than margin + the
   * widest skew between two hosts + one step to live and was not rejected: a duplicate refresh.
   */
  finish(end: number, harnessFaulted: number): void {
    const slack = AUTH_SETTINGS.refreshMarginMs + 2 * this.#maxSkewMs + this.#stepMs;
    let expiries = 0;
    for (const list of this.#byUser.values()) {
      const chain = list.filter((m) => m.grant === 'authorization_code' || m.handedOut);
      this.figures.wastedMints += list.length - chain.length;
      for (const [i, token] of chain.entries()) {
        const next = chain[i + 1];
        const early = next !== undefined && !token.rejected && token.expiresAt - next.issuedAt > slack;
        if (early) this.figures.earlyRefreshes++;
        else if (token.rejected || token.expiresAt - AUTH_SETTINGS.refreshMarginMs <= end || next !== undefined)
          expiries++;
      }
    }
    this.figures.expiries = expiries;
    this.figures.faultedAttempts += harnessFaulted;
  }

  /** Refresh requests per needed refresh (an expiry or a 401) plus faulted attempt; ≤ 1 when no refresh is wasted. */
  get refreshRatio(): number {
    const needed = this.figures.expiries + this.figures.faultedAttempts;
    return needed === 0 ? 0 : this.figures.refreshRequests / needed;
  }

  /**
   * Refresh requests ≤ expiries + faulted attempts + mints lost to a fault (a refresh that timed out
   * at the client, or whose save a cut connection or a SIGKILL stopped, had to be made again). A
   * duplicate refresh that was handed out is an early refresh; one that was not is among the lost.
   */
  get refreshesWithinBudget(): boolean {
    const f = this.figures;
    return f.refreshRequests <= f.expiries + f.faultedAttempts + f.wastedMints;
  }
}
