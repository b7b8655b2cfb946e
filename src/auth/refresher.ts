import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../errors.js';
import { diagnostics } from '../diagnostics.js';
import type { Logger } from '../logger.js';
import { redact } from '../redact.js';
import type { OAuthRequestOptions } from '../oauth/http.js';
import { refreshAccessToken, type ClientCredentials, type TokenSet } from '../oauth/token-endpoint.js';
import { refreshLockName, withStoreLock, type StoreLockOptions } from '../stores/kit/store-lock.js';
import type { TokenStore } from '../stores/kit/token-store.js';
import { OAuthToken } from '../token/oauth-token.js';
import { authRequired, idOf, noRefreshToken, withRetryAfter } from './auth-errors.js';
import type { RefreshCooldown } from './cooldown.js';
import { accountsUrlOf, apiDomainFor, isBound, type KnownEnvironments } from './data-center-binding.js';
import type { AuthEvents } from './auth-events.js';
import { withAfterHooks, type AfterHooks } from './events.js';
import type { ForcedRefreshPolicy } from './forced-refresh-policy.js';
import { SingleFlight } from './single-flight.js';
import type { TokenCache } from './token-cache.js';
import { describeOrigin, type TrustedEndpoints } from './trusted-endpoints.js';
import type { Clock, ZohoAuthConfig } from './zoho-auth-options.js';

/** Why a refresh runs: the expiry margin, a 401 from the API (loop-guarded), or an operator's request. */
export type RefreshReason = 'expiry' | 'rejected' | 'operator';

/** What the refresh engine shares with its ZohoAuth. */
export interface RefreshContext {
  readonly store: TokenStore;
  readonly config: ZohoAuthConfig;
  /** The accounts server's time. */
  readonly clock: Clock;
  readonly log: Logger;
  readonly known: KnownEnvironments;
  readonly trusted: TrustedEndpoints;
  /** Options of every request to the accounts server. */
  readonly request: OAuthRequestOptions;
  readonly lock: StoreLockOptions;
  readonly cache: TokenCache;
  readonly cooldown: RefreshCooldown;
  readonly forced: ForcedRefreshPolicy;
  /** The hooks and listeners of the lifecycle events. */
  readonly events: AuthEvents;
  /** This client's stored token with that id, or null. */
  readOwn(id: string): Promise<OAuthToken | null>;
  /** Refuses (UNTRUSTED_ENDPOINT) to send `what` to `url`, and logs it. */
  untrusted(url: string | null | undefined, what: string, id: string | null | undefined, user: string | null): never;
}

/** What the refresh's diagnostics messages carry from its start. */
interface RefreshTrace {
  readonly tokenId: string;
  readonly reason: RefreshReason;
  /** `performance.now()` at the start. */
  readonly started: number;
}

/** Fields of every log line about one refresh. */
type RefreshLog = Record<string, unknown>;

/** Fresh: an access token whose expiry minus the margin is still ahead of `now`. */
export function isFresh(token: OAuthToken, now: number, marginMs: number): boolean {
  return !!token.accessToken && token.expiresAt != null && token.expiresAt - marginMs > now;
}

/**
 * The refresh engine of a ZohoAuth: one refresh per token id at a time in this process (single
 * flight), under the store's lock `refresh:<id>` across processes; under the lock the store is
 * re-read and Zoho is called only if the token is still stale (or the refresh is forced). Failures
 * cool the token down; a dead refresh token is buried; the new token is saved before any caller
 * gets it, and the lifecycle hooks run once the lock is released.
 */
export class Refresher {
  readonly #ctx: RefreshContext;
  readonly #flights = new SingleFlight<string, OAuthToken>();

  constructor(context: RefreshContext) {
    this.#ctx = context;
  }

  /** Resolves once every refresh running now has settled, its save and hooks included. */
  settled(): Promise<void> {
    return this.#flights.settled();
  }

  /** The refresh of token `id` running in this process now, if any. */
  running(id: string): Promise<OAuthToken> | undefined {
    return this.#flights.running(id);
  }

  /**
   * Refreshes token `id` once (joining a refresh already running for it), `seen` being the access
   * token the caller found stale or rejected. Resolves to the current token. Once every caller's
   * `signal` has fired, a wait for the lock stops (ABORTED); a request already sent to Zoho is let
   * finish and its token saved, since Zoho counts it against the token's refresh limits either way.
   */
  refreshOnce(id: string, seen: string | null, reason: RefreshReason, signal?: AbortSignal): Promise<OAuthToken> {
    const force = reason !== 'expiry';
    return this.#flights.run(
      id,
      (unwanted) =>
        withAfterHooks((after) =>
          withStoreLock(
            this.#ctx.store,
            refreshLockName(id),
            { ...this.#ctx.lock, signal: unwanted },
            () => this.#refreshIfNeeded(id, seen, reason, after),
            () => this.#afterLockTimeout(id, seen, force),
            () => this.#refreshedElsewhere(id, seen, force),
          ),
        ),
      signal,
    );
  }

  /**
   * Woken while another process holds the lock: the token it refreshed, once saved, or undefined
   * (then the wait goes on). The same test as under the lock, so answering now is as safe.
   */
  async #refreshedElsewhere(id: string, seen: string | null, force: boolean): Promise<OAuthToken | undefined> {
    const current = await this.#ctx.readOwn(id);
    if (current === null) return undefined;
    const now = this.#ctx.clock.now();
    if (current.accessToken && current.accessToken !== seen && !current.isExpired(now)) return current;
    if (!force && isFresh(current, now, this.#ctx.config.refreshMarginMs)) return current;
    return undefined;
  }

  /** Another process held the lock too long: its refresh may still have landed. */
  async #afterLockTimeout(id: string, seen: string | null, force: boolean): Promise<OAuthToken> {
    const current = await this.#ctx.readOwn(id);
    const now = this.#ctx.clock.now();
    if (current !== null && current.accessToken && current.accessToken !== seen && !current.isExpired(now))
      return current;
    if (current !== null && !force && isFresh(current, now, this.#ctx.config.refreshMarginMs)) return current;
    throw new ZohoTokenError(
      ErrorCode.LOCK_TIMEOUT,
      `The refresh lock of token id ${id} stayed taken for ${this.#ctx.config.lockWaitMs} ms and the stored token is still stale`,
    );
  }

  /** Under the lock: re-reads the token and refreshes it unless that is no longer needed or allowed. */
  async #refreshIfNeeded(
    id: string,
    seen: string | null,
    reason: RefreshReason,
    after: AfterHooks,
  ): Promise<OAuthToken> {
    const ctx = this.#ctx;
    const force = reason !== 'expiry';
    const current = await ctx.readOwn(id);
    if (current === null)
      throw authRequired(`Token id ${id} was removed (revoked or logged out): the user must log in`);
    const now = ctx.clock.now();
    // Another process (or an earlier flight) already replaced the token this caller saw as stale.
    if (current.accessToken && current.accessToken !== seen && !current.isExpired(now)) return current;
    if (!force && isFresh(current, now, ctx.config.refreshMarginMs)) return current;
    const refreshToken = current.refreshToken;
    if (!refreshToken) throw noRefreshToken(current);
    if (reason === 'rejected' && current.accessToken) await ctx.forced.check(id, current.accessToken, true);
    const usableMeanwhile = !force && !current.isExpired(now);

    const cooling = await ctx.cooldown.check(ctx.store.lock, id, now);
    if (cooling !== null) {
      if (usableMeanwhile) return current;
      throw cooling;
    }

    const accountsUrl = accountsUrlOf(ctx.known, current);
    if (!ctx.trusted.trusts(accountsUrl))
      ctx.untrusted(accountsUrl, 'the client secret and refresh token', id, current.userName);
    const log: RefreshLog = {
      tokenId: id,
      user: current.userName,
      accountsUrl,
      forced: force,
      previous: redact(current.accessToken),
    };
    ctx.log.debug(log, 'refreshing access token');
    let set: TokenSet;
    const request = this.#withinLease();
    const trace: RefreshTrace = { tokenId: id, reason, started: performance.now() };
    if (diagnostics.refreshStart.hasSubscribers) diagnostics.refreshStart.publish({ tokenId: id, reason });
    try {
      set = await refreshAccessToken({ accountsUrl }, this.#credentials(), refreshToken, request);
    } catch (error) {
      // Our own lease budget, not a caller, cut the request: for the caller it is a timeout.
      const failure =
        isZohoTokenError(error, ErrorCode.ABORTED) && request.signal?.aborted
          ? new ZohoTokenError(ErrorCode.NETWORK, 'the accounts server did not answer within the refresh lock lease', {
              cause: error,
            })
          : error;
      return this.#failed(current, accountsUrl, failure, usableMeanwhile, log, after, trace);
    }
    await ctx.cooldown.succeeded(id);
    const saved = await this.#save(current, set, accountsUrl, reason, now, log, after);
    if (diagnostics.refreshEnd.hasSubscribers) {
      diagnostics.refreshEnd.publish({ tokenId: id, reason, durationMs: performance.now() - trace.started });
    }
    return saved;
  }

  /**
   * Zoho refused or could not be reached. A dead refresh token is buried (AUTH_REQUIRED); any other
   * failure cools the token down, and the current token is returned if it is still usable.
   */
  async #failed(
    current: OAuthToken,
    accountsUrl: string,
    error: unknown,
    usableMeanwhile: boolean,
    log: RefreshLog,
    after: AfterHooks,
    trace: RefreshTrace,
  ): Promise<OAuthToken> {
    const ctx = this.#ctx;
    const id = idOf(current);
    const publish = (failure: unknown, cooldownMs: number): void => {
      if (!diagnostics.refreshError.hasSubscribers) return;
      diagnostics.refreshError.publish({
        tokenId: trace.tokenId,
        reason: trace.reason,
        durationMs: performance.now() - trace.started,
        code: failure instanceof ZohoTokenError ? failure.code : 'UNKNOWN',
        cooldownMs,
      });
    };
    if (isZohoTokenError(error, ErrorCode.INVALID_GRANT) && !isBound(ctx.known, current)) {
      // Kept, not buried; cooled down so a guessed data center is not asked again on every call.
      // In this process only: a `bind` by an operator's process must take effect at once.
      const unbound = this.#unboundRejected(current, accountsUrl, error);
      const cooldownMs = await ctx.cooldown.failed(undefined, id, unbound, ctx.clock.now());
      publish(unbound, cooldownMs);
      const failed = { token: current.with(), error: unbound, cooldownMs, servedCurrent: false };
      after.push(() => ctx.events.emit('failed', failed));
      throw cooldownMs > 0 ? withRetryAfter(unbound, cooldownMs) : unbound;
    }
    if (isZohoTokenError(error, ErrorCode.INVALID_GRANT)) {
      publish(error, 0);
      ctx.cooldown.forget(id);
      await this.#bury(current, error, after);
      throw authRequired(
        `Zoho rejected the refresh token of token id ${id}${current.userName ? ` (user ${current.userName})` : ''}: the user must log in again`,
        error,
      );
    }
    const cooldownMs = await ctx.cooldown.failed(ctx.store.lock, id, error, ctx.clock.now());
    publish(error, cooldownMs);
    const failed = { token: current.with(), error, cooldownMs, servedCurrent: usableMeanwhile };
    after.push(() => ctx.events.emit('failed', failed));
    if (usableMeanwhile) {
      ctx.log.warn(
        { ...log, err: error, cooldownMs },
        'refresh failed; the current access token is still valid and is used meanwhile',
      );
      return current;
    }
    ctx.log.warn({ ...log, err: error, cooldownMs }, 'refresh failed');
    throw cooldownMs > 0 && error instanceof ZohoTokenError && error.retryAfterMs === undefined
      ? withRetryAfter(error, cooldownMs)
      : error;
  }

  /** Saves the refreshed token (unless another process got there first, or the row was removed) and queues the hooks. */
  async #save(
    current: OAuthToken,
    set: TokenSet,
    accountsUrl: string,
    reason: RefreshReason,
    started: number,
    log: RefreshLog,
    after: AfterHooks,
  ): Promise<OAuthToken> {
    const ctx = this.#ctx;
    const id = idOf(current);
    const next = current.with({
      accessToken: set.accessToken,
      expiresAt: set.expiresAt,
      // Zoho does not rotate refresh tokens; keep the stored one unless a new one came.
      refreshToken: set.refreshToken ?? current.refreshToken,
      // The stored API domain is authoritative; a response's api_domain only fills a missing one.
      apiDomain: current.apiDomain ?? apiDomainFor(ctx.known, accountsUrl, set.apiDomain),
      accountsUrl,
    });
    // Our lease may have run out during a slow refresh and another process refreshed meanwhile:
    // its token is already stored and in use, so keep it rather than overwrite it with ours.
    // Also a revoke or logout may have removed the row meanwhile: never bring it back.
    const latest = await ctx.readOwn(id);
    if (latest === null)
      throw authRequired(`Token id ${id} was removed (revoked or logged out) during its refresh: the user must log in`);
    if (latest.accessToken !== current.accessToken && latest.accessToken && !latest.isExpired(ctx.clock.now())) {
      ctx.log.warn(
        { ...log, kept: redact(latest.accessToken) },
        'another process refreshed while this refresh ran; keeping the stored token',
      );
      return latest;
    }
    await ctx.store.saveToken(next);
    if (reason === 'rejected') await ctx.forced.record(id, next.accessToken!, true);
    const durationMs = ctx.clock.now() - started;
    ctx.log.info(
      { ...log, current: redact(next.accessToken), expiresAt: next.expiresAt, durationMs },
      'access token refreshed and saved',
    );
    const previousExpiresAt = current.expiresAt ?? null;
    after.push(
      () => ctx.events.emit('saved', { token: next.with(), reason: 'refresh' }),
      () => ctx.events.emit('refreshed', { token: next.with(), previousExpiresAt, durationMs }),
    );
    return next;
  }

  /**
   * Request options for a refresh under the store's lock: aborted before the lease runs out (with
   * a margin for the save), so no retry starts that could finish after another process took over.
   */
  #withinLease(): OAuthRequestOptions {
    if (this.#ctx.store.lock === undefined) return this.#ctx.request;
    const leaseMs = this.#ctx.config.lockLeaseMs;
    const budgetMs = Math.max(1, leaseMs - Math.min(5_000, Math.floor(leaseMs / 4)));
    return { ...this.#ctx.request, signal: AbortSignal.timeout(budgetMs) };
  }

  #credentials(): ClientCredentials {
    return { clientId: this.#ctx.config.clientId, clientSecret: this.#ctx.config.clientSecret };
  }

  /**
   * Zoho rejected the refresh token of a row that names no data center, at the one we guessed (the
   * configured environment): it may be alive at its real one, so it is kept, and nothing is cached.
   */
  #unboundRejected(current: OAuthToken, triedAccountsUrl: string, error: ZohoTokenError): ZohoTokenError {
    const id = idOf(current);
    this.#ctx.cache.forget(id);
    this.#ctx.log.warn(
      {
        tokenId: id,
        user: current.userName,
        accountsUrl: triedAccountsUrl,
        refreshToken: redact(current.refreshToken),
      },
      'refresh token rejected by the configured accounts server; the row has no data center binding, so the refresh token is kept',
    );
    return new ZohoTokenError(
      ErrorCode.TOKEN_UNBOUND,
      `Zoho's accounts server ${describeOrigin(triedAccountsUrl)} (the configured environment ${this.#ctx.config.environment.name}) rejected the refresh token of token id ${id}` +
        `${current.userName ? ` (user ${current.userName})` : ''}, but the row has no data center binding (no accounts_url, no known api_domain), ` +
        `so it may be valid at another data center and was kept. Bind it to its data center: auth.bind({ id: '${id}' }, 'EU') ` +
        `or "zoho-tokens bind ${id} --dc EU" (with its real data center), or log the user in again`,
      { cause: error },
    );
  }

  /** A dead refresh token: clear it (only if still the stored one) so nobody tries it again; keep the row. */
  async #bury(current: OAuthToken, error: ZohoTokenError, after: AfterHooks): Promise<void> {
    const ctx = this.#ctx;
    const id = idOf(current);
    ctx.cache.forget(id);
    ctx.log.warn(
      { tokenId: id, user: current.userName, refreshToken: redact(current.refreshToken) },
      'refresh token rejected by Zoho: the user must log in again',
    );
    try {
      const latest = await ctx.readOwn(id);
      if (latest !== null && latest.refreshToken === current.refreshToken) {
        await ctx.store.saveToken(new OAuthToken({ id, refreshToken: null, accessToken: null, expiresAt: null }));
      }
    } catch (storeError) {
      ctx.log.error({ tokenId: id, err: storeError }, 'could not mark the dead token in the store');
    }
    after.push(() => ctx.events.emit('dead', { token: current.with(), error }));
  }
}
