import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../errors.js';
import { redact } from '../redact.js';
import { buildAuthorizationUrl, parseAuthorizationCallback } from '../oauth/authorization-url.js';
import type { Environment } from '../oauth/environment.js';
import { environmentFor } from '../oauth/resolve-environment.js';
import type { OAuthRequestOptions } from '../oauth/http.js';
import { revokeRefreshToken } from '../oauth/revoke.js';
import { exchangeAuthorizationCode } from '../oauth/token-endpoint.js';
import type { TokenStore } from '../stores/kit/token-store.js';
import { OAuthToken } from '../token/oauth-token.js';
import { authRequired, idOf, noRefreshToken } from './auth-errors.js';
import { RefreshCooldown } from './cooldown.js';
import { fetchCurrentUserEmail } from './current-user.js';
import {
  accountsUrlOf,
  apiDomainFor,
  bindingOf,
  exchangeEnvironment,
  type KnownEnvironments,
} from './data-center-binding.js';
import { CACHE_HIT, CACHE_MISS, diagnostics } from '../diagnostics.js';
import { abortedError, signalOf, untilAborted, type AbortOptions } from '../abort.js';
import { AuthEvents, type ZohoAuthEventName, type ZohoAuthListener } from './auth-events.js';
import { withAfterHooks, type AfterHooks } from './events.js';
import { ForcedRefreshPolicy } from './forced-refresh-policy.js';
import { redactingLogger, type Logger } from '../logger.js';
import { ServerClock, type ServerClockState } from './server-clock.js';
import { SingleFlight } from './single-flight.js';
import { timedStore } from './timed-store.js';
import { exchangeLockName, refreshLockName, withStoreLock, type StoreLockOptions } from '../stores/kit/store-lock.js';
import { isFresh, Refresher } from './refresher.js';
import { TokenCache, type AccessCredentials, type CacheEntry } from './token-cache.js';
import { describeRef, parseTokenRef, type ParsedRef, type TokenRef } from './token-ref.js';
import { describeOrigin, TrustedEndpoints, untrustedEndpoint } from './trusted-endpoints.js';
import { resolveZohoAuthOptions, type Clock, type ZohoAuthConfig, type ZohoAuthOptions } from './zoho-auth-options.js';

/** Options of {@link ZohoAuth.exchangeGrantToken}. */
export interface ExchangeOptions extends AbortOptions {
  /**
   * The user's email. When omitted it is learned from the CRM (`lookupUser`), or the token is
   * saved without a user (then reach it by `{ id }` or the returned token).
   * @default undefined
   */
  user?: string;
  /**
   * The callback's `location` (`eu`, …): the data center to exchange the code at.
   * @default null (the configured environment)
   */
  location?: string | null;
  /**
   * The callback's `accounts-server`; must be that of `location`, or of a known environment.
   * @default null
   */
  accountsServer?: string | null;
  /**
   * Redirect URI sent with the code; `null` sends none (Self Client codes).
   * @default options.redirectUrl
   */
  redirectUrl?: string | null;
}

/** Options of {@link ZohoAuth.authorizationUrl}. */
export interface AuthorizationUrlOptions {
  /** e.g. `['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ']`; sent comma-separated. */
  scopes: string[];
  /** Unguessable, tied to the user's session; check it with `exchangeCallback`. */
  state: string;
  /**
   * `offline` is the only way to receive a refresh token.
   * @default 'offline'
   */
  accessType?: 'offline' | 'online';
  /**
   * `consent` makes Zoho issue a refresh token even if the user consented before; `null` omits it.
   * @default 'consent'
   */
  prompt?: 'consent' | null;
}

type Ready = OAuthToken & { id: string; accessToken: string; expiresAt: number };

/** What {@link ZohoAuth.getRequestHeaders} returns; a type (not an interface) so it fits `HeadersInit`. */
export type ZohoRequestHeaders = {
  /** `Zoho-oauthtoken <access token>`: the scheme Zoho documents for its APIs. */
  Authorization: string;
};

/**
 * Tokens of one Zoho client, for any number of users, kept fresh: one refresh per expiry across
 * every caller and every process sharing the store, each token bound to its own data center.
 *
 * - A fresh token (expiresAt − margin > now) is served from memory: no I/O.
 * - A stale one is refreshed once: in-process single flight per token id, then the store's lock
 *   `refresh:<id>` across processes; under the lock the store is re-read and Zoho is called only if
 *   the token is still stale. The new token is saved before any caller gets it.
 * - Refresh and revoke go to the token's own `accountsUrl`; a response's `api_domain` never
 *   replaces a stored one. Stored URLs are data anyone with write access to the store can change:
 *   credentials go only to Zoho's data centers or endpoints this application configured
 *   (`environment`, `environments`, `trustedEndpoints`), else UNTRUSTED_ENDPOINT and nothing is sent.
 * - A refresh token the token's own (bound) accounts server rejects (`invalid_code`) is "dead": its
 *   row is KEPT (user, client, data center stay visible to operators) with refresh and access
 *   tokens cleared, so no process ever tries it again; `onTokenDead` fires and callers get
 *   AUTH_REQUIRED until the user logs in again (which overwrites the row). A row bound to no data
 *   center was tried at a guess: its refresh token is kept (TOKEN_UNBOUND; see `bind`).
 * - A failed refresh (network, 5xx, throttle) while the current access token has not yet expired
 *   (only the margin was reached) returns the current token and retries later.
 * - A failed refresh cools its token down (exponential, capped, jittered; at least Zoho's retry time
 *   after a throttle), shared through the store's lock: callers fail fast with the last error and
 *   `retryAfterMs` meanwhile (RefreshCooldown).
 * - Every time read is the accounts server's (this host's clock plus the offset measured from the
 *   server's `Date` headers), so stored expiries mean the same on every host (ServerClock).
 */
export class ZohoAuth {
  /** The client id of {@link ZohoAuthOptions.clientId}; every token this instance reads carries it. */
  readonly clientId: string;
  /** The configured {@link ZohoAuthOptions.environment}, validated and frozen. */
  readonly environment: Environment;
  /** The {@link ZohoAuthOptions.store}. ZohoAuth never closes it. */
  readonly store: TokenStore;
  /** The same store, its calls published on `CHANNELS.storeOperation`. */
  readonly #store: TokenStore;
  readonly #config: ZohoAuthConfig;
  /** The accounts server's time (this host's clock corrected by the measured skew): every expiry uses it. */
  readonly #clock: Clock;
  readonly #serverClock: ServerClock;
  readonly #log: Logger;
  readonly #known: KnownEnvironments;
  readonly #trusted: TrustedEndpoints;
  readonly #request: OAuthRequestOptions;
  readonly #lock: StoreLockOptions;
  readonly #cache = new TokenCache();
  readonly #loads = new SingleFlight<string, CacheEntry>();
  readonly #exchanges = new SingleFlight<string, OAuthToken>();
  /** Failed refreshes (throttles included) cool their token down, shared through the store's lock. */
  readonly #cooldown: RefreshCooldown;
  /** Whether a forced refresh (after a 401) may go ahead. */
  readonly #forced: ForcedRefreshPolicy;
  /** The refresh engine. */
  readonly #refresher: Refresher;
  readonly #events: AuthEvents;

  /**
   * @throws {@link ZohoTokenError} `INVALID_ARGUMENT`, with `field` naming the first invalid option
   *   (see {@link ZohoAuthOptions}).
   */
  constructor(options: ZohoAuthOptions) {
    const config = resolveZohoAuthOptions(options);
    this.#config = config;
    this.clientId = config.clientId;
    this.environment = config.environment;
    this.store = config.store;
    this.#store = timedStore(config.store);
    this.#log = redactingLogger(config.logger, [config.clientSecret]);
    this.#serverClock = new ServerClock(config.clock, this.#log);
    this.#clock = this.#serverClock;
    this.#known = Object.freeze({ primary: config.environment, extra: config.environments });
    this.#trusted = new TrustedEndpoints([config.environment, ...config.environments], config.trustedEndpoints);
    const clock = this.#serverClock;
    // Only accounts-server traffic goes through the measuring fetch: its Date headers set the clock.
    const fetch = clock.measuring(config.fetch);
    // Expiries from the earliest server time the measurements allow: never later than Zoho's.
    this.#request = Object.freeze({
      fetch,
      timeoutMs: config.timeoutMs,
      retries: config.retries,
      now: () => clock.earliest(),
    });
    this.#lock = Object.freeze({ leaseMs: config.lockLeaseMs, waitMs: config.lockWaitMs, log: this.#log });
    this.#cooldown = new RefreshCooldown({
      baseMs: config.refreshBackoffMs,
      maxMs: config.maxRefreshBackoffMs,
      log: this.#log,
    });
    this.#forced = new ForcedRefreshPolicy(config.forcedRefreshIntervalMs, this.#clock, this.#store);
    this.#events = new AuthEvents(config.hooks, this.#log);
    this.#refresher = new Refresher({
      events: this.#events,
      store: this.#store,
      config,
      clock: this.#clock,
      log: this.#log,
      known: this.#known,
      trusted: this.#trusted,
      request: this.#request,
      lock: this.#lock,
      cache: this.#cache,
      cooldown: this.#cooldown,
      forced: this.#forced,
      readOwn: (id) => this.#readOwn(id),
      untrusted: (url, what, id, user) => this.#untrusted(url, what, id, user),
    });
  }

  // --- events ------------------------------------------------------------------------------------

  /**
   * Adds a listener of a lifecycle event: `saved`, `refreshed`, `revoked`, `dead` or `failed`
   * ({@link ZohoAuthEventMap}). Any number of listeners, added any time; each runs after the hook
   * of the same event, without being awaited; one that throws or rejects is logged, never thrown.
   *
   * @throws {@link ZohoTokenError} `INVALID_ARGUMENT` for an unknown event or a listener that is not a function.
   */
  on<N extends ZohoAuthEventName>(event: N, listener: ZohoAuthListener<N>): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Like {@link ZohoAuth.on}, for the next occurrence only. */
  once<N extends ZohoAuthEventName>(event: N, listener: ZohoAuthListener<N>): this {
    this.#events.once(event, listener);
    return this;
  }

  /** Removes a listener added with `on` or `once` (its first registration); nothing if it is not there. */
  off<N extends ZohoAuthEventName>(event: N, listener: ZohoAuthListener<N>): this {
    this.#events.off(event, listener);
    return this;
  }

  /**
   * For `await using auth = new ZohoAuth(…)`: waits for the refreshes running in this instance
   * (their saves and hooks included), then forgets the access tokens it keeps in memory. The store
   * stays open: ZohoAuth never closes it (dispose it in its own `await using`, declared first).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#refresher.settled();
    this.#cache.clear();
  }

  /** This host's measured offset to the accounts server's clock (see the `clockSync` option). */
  get serverClock(): ServerClockState {
    return this.#serverClock.state;
  }

  // --- serving tokens --------------------------------------------------------------------------

  /**
   * A valid access token for `who`: from memory when fresh, else from the store, else refreshed once.
   *
   * @throws {@link ZohoTokenError} `AUTH_REQUIRED` when no usable token is stored for `who` (none,
   *   no refresh token, or Zoho rejected it: the user must log in again); when a needed refresh
   *   fails: `TOKEN_UNBOUND`,
   *   `UNTRUSTED_ENDPOINT`, `LOCK_TIMEOUT`, or Zoho's error (`THROTTLED`, `NETWORK`, `SERVER_ERROR`,
   *   …; with `retryAfterMs` while the token cools down); the store's errors (`STORE_ERROR`, …).
   */
  async getAccessToken(who: TokenRef, options?: AbortOptions): Promise<string> {
    const signal = signalOf(options);
    if (signal?.aborted) throw abortedError('getAccessToken', signal);
    const hit = this.#cached(who);
    if (hit !== undefined) return hit.creds.accessToken;
    return (await untilAborted(signal, 'getAccessToken', this.#load(who, signal))).creds.accessToken;
  }

  /**
   * The headers that authorize a Zoho API call for `who`, for an HTTP client of your own (axios,
   * got, ky, undici…): `{ Authorization: 'Zoho-oauthtoken <access token>' }`, the scheme Zoho
   * documents. Throws as {@link ZohoAuth.getAccessToken} does.
   */
  async getRequestHeaders(who: TokenRef, options?: AbortOptions): Promise<ZohoRequestHeaders> {
    return { Authorization: `Zoho-oauthtoken ${await this.getAccessToken(who, options)}` };
  }

  /** Like {@link getAccessToken} (same errors), with the token's id, user and API domain (what an API call needs). */
  async getCredentials(who: TokenRef, options?: AbortOptions): Promise<AccessCredentials> {
    const signal = signalOf(options);
    if (signal?.aborted) throw abortedError('getCredentials', signal);
    const hit = this.#cached(who);
    return hit !== undefined
      ? hit.creds
      : (await untilAborted(signal, 'getCredentials', this.#load(who, signal))).creds;
  }

  /**
   * The credentials of `who` when this ZohoAuth holds a fresh token for it in memory, else
   * undefined: never reads the store, refreshes or waits (a synchronous fast path for an HTTP
   * client, which falls back to {@link getCredentials}). A hit is published on the cache
   * diagnostics channel; a miss is left to the `getCredentials` call that follows.
   */
  cachedCredentials(who: TokenRef): AccessCredentials | undefined {
    // A miss is published by the getCredentials that follows it, not twice.
    return this.#cached(who, false)?.creds;
  }

  /** The whole valid token (a copy, secrets included: persist it, never log it raw). Errors as {@link getAccessToken}. */
  async getToken(who: TokenRef, options?: AbortOptions): Promise<OAuthToken> {
    const signal = signalOf(options);
    if (signal?.aborted) throw abortedError('getToken', signal);
    const hit = this.#cached(who) ?? (await untilAborted(signal, 'getToken', this.#load(who, signal)));
    return hit.token.with();
  }

  /**
   * After the API rejected `rejectedAccessToken` (401 INVALID_TOKEN / AUTHENTICATION_FAILURE):
   * drops the cached token; returns the stored one if another process already replaced it (also
   * under a new id, after the user logged in again elsewhere), else forces one refresh (single flight + lock; skipped if the stored token changed meanwhile).
   * Throws THROTTLED instead of refreshing again when the rejected token is the one a forced
   * refresh minted less than `forcedRefreshIntervalMs` ago (refreshing would not help).
   */
  async handleUnauthorized(who: TokenRef, rejectedAccessToken: string, options?: AbortOptions): Promise<string> {
    if (typeof rejectedAccessToken !== 'string' || rejectedAccessToken.length === 0) {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'rejectedAccessToken must be a non-empty string', {
        field: 'rejectedAccessToken',
      });
    }
    const signal = signalOf(options);
    if (signal?.aborted) throw abortedError('handleUnauthorized', signal);
    return untilAborted(signal, 'handleUnauthorized', this.#handleUnauthorized(who, rejectedAccessToken, signal));
  }

  async #handleUnauthorized(
    who: TokenRef,
    rejectedAccessToken: string,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const ref = parseTokenRef(who);
    const cachedId = this.#cache.lookup(who, -Infinity)?.creds.id;
    let stored = cachedId !== undefined ? await this.#readOwn(cachedId) : await this.#findOwn(ref);
    if (cachedId !== undefined) this.#cache.forget(cachedId);
    // The cached id is gone: the user may have logged in again elsewhere (a new row, a new id).
    const user = ref.kind === 'user' ? ref.user : ref.kind === 'token' && !ref.token.id ? ref.token.userName : null;
    if (stored === null && cachedId !== undefined && user) {
      stored = await this.#findOwn({ kind: 'user', user });
    }
    if (stored === null)
      throw authRequired(`No token is stored for ${describeRef(ref)} any more: the user must log in`);
    const id = idOf(stored);
    this.#cache.forget(id);
    const now = this.#clock.now();
    this.#log.info(
      { tokenId: id, user: stored.userName, rejected: redact(rejectedAccessToken) },
      'access token rejected by the API',
    );
    if (stored.accessToken && stored.accessToken !== rejectedAccessToken && !stored.isExpired(now)) {
      return this.#remember(stored as Ready, false).creds.accessToken;
    }
    if (!stored.refreshToken) throw noRefreshToken(stored);
    // In this process only, before joining a refresh: other processes' markers are probed under the lock.
    await this.#forced.check(id, rejectedAccessToken, false);
    let token = await this.#refresher.refreshOnce(id, rejectedAccessToken, 'rejected', signal);
    // We joined a non-forced refresh that kept the rejected token: force our own.
    if (token.accessToken === rejectedAccessToken)
      token = await this.#refresher.refreshOnce(id, rejectedAccessToken, 'rejected', signal);
    await this.#forced.record(id, token.accessToken!, false);
    return this.#remember(token as Ready, true).creds.accessToken;
  }

  /**
   * Forces a refresh of `who`'s token now (single flight and lock as always), whatever its expiry:
   * for operators (the CLI's `refresh`). Returns the new token (a copy).
   */
  async refresh(who: TokenRef, options?: AbortOptions): Promise<OAuthToken> {
    const signal = signalOf(options);
    // Checked before the work starts: a caller past its deadline must not cost a refresh at Zoho.
    if (signal?.aborted) throw abortedError('refresh', signal);
    return untilAborted(signal, 'refresh', this.#refresh(who, signal));
  }

  async #refresh(who: TokenRef, signal: AbortSignal | undefined): Promise<OAuthToken> {
    const stored = await this.#findOwn(parseTokenRef(who));
    if (stored === null)
      throw authRequired(`No token is stored for ${describeRef(parseTokenRef(who))}: the user must log in`);
    const id = idOf(stored);
    this.#cache.forget(id);
    const token = await this.#refresher.refreshOnce(id, stored.accessToken ?? null, 'operator', signal);
    return this.#remember(token as Ready, true).token.with();
  }

  /**
   * Throws UNTRUSTED_ENDPOINT (and logs the origin, no secret) unless `creds.accessToken` may be
   * sent to `creds.apiDomain`: a Zoho data center's API domain or one this application configured
   * (`environment`, `environments`, `trustedEndpoints`). ZohoClient checks before every request;
   * do the same when you send `getCredentials()`' token with your own HTTP client.
   */
  checkApiDomain(creds: Pick<AccessCredentials, 'id' | 'user' | 'apiDomain'>): void {
    if (this.#trusted.trusts(creds.apiDomain)) return;
    this.#untrusted(creds.apiDomain, 'an access token', creds.id, creds.user);
  }

  /**
   * Binds a stored token to a data center: sets its `accountsUrl` (and its `apiDomain`, unless it
   * already names a known one). For rows that name neither (official SDK files), whose refresh
   * token is otherwise only tried at the configured environment and, if rejected there, kept
   * (TOKEN_UNBOUND). `target`: a data center name (`'EU'`, of this ZohoAuth's kind) or an
   * Environment whose endpoints are trusted. A row bound elsewhere is refused (INVALID_ARGUMENT).
   * Returns the saved token (a copy).
   */
  async bind(who: TokenRef, target: Environment | string, options?: AbortOptions): Promise<OAuthToken> {
    const signal = signalOf(options);
    // Checked before anything is written: once started, a bind is one save, done or not.
    if (signal?.aborted) throw abortedError('bind', signal);
    const env =
      typeof target === 'string'
        ? environmentFor(target, this.environment.kind === 'custom' ? 'production' : this.environment.kind)
        : target;
    if (typeof env !== 'object' || env === null)
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'target must be a data center name or an Environment', {
        field: 'target',
      });
    const ref = parseTokenRef(who);
    const stored = await this.#findOwn(ref);
    if (stored === null) throw authRequired(`No token is stored for ${describeRef(ref)}: nothing to bind`);
    const id = idOf(stored);
    for (const url of [env.accountsUrl, env.apiDomain])
      if (!this.#trusted.trusts(url)) this.#untrusted(url, 'the refresh token', id, stored.userName);
    const binding = bindingOf(this.#known, stored, env);
    await this.#store.saveToken(new OAuthToken({ id, ...binding }));
    this.#cache.forget(id);
    // A cool-down from a rejection at the guessed data center does not apply to the bound one.
    await this.#cooldown.succeeded(id);
    this.#log.info(
      { tokenId: id, user: stored.userName, accountsUrl: binding.accountsUrl, apiDomain: binding.apiDomain },
      'token bound to a data center',
    );
    return ((await this.#readOwn(id)) ?? stored.with(binding)).with();
  }

  // --- login -----------------------------------------------------------------------------------

  /** The consent URL of the web flow (needs `redirectUrl`). */
  authorizationUrl(options: AuthorizationUrlOptions): URL {
    if (this.#config.redirectUrl === null) {
      throw new ZohoTokenError(
        ErrorCode.INVALID_ARGUMENT,
        'authorizationUrl needs options.redirectUrl in the ZohoAuth',
        { field: 'redirectUrl' },
      );
    }
    return buildAuthorizationUrl(this.environment, {
      ...options,
      clientId: this.clientId,
      redirectUrl: this.#config.redirectUrl,
    });
  }

  /** Handles the redirect back from Zoho: checks `state`, then exchanges the code at the callback's data center. */
  async exchangeCallback(
    callbackUrl: string | URL,
    options: { state: string; user?: string; signal?: AbortSignal },
  ): Promise<OAuthToken> {
    const callback = parseAuthorizationCallback(callbackUrl, options?.state);
    return this.exchangeGrantToken(callback.code, {
      signal: options.signal,
      user: options.user,
      location: callback.location,
      accountsServer: callback.accountsServer,
    });
  }

  /**
   * Trades a grant code for tokens, saves them and returns the saved token (a copy). A code already
   * in the store is returned as stored WITHOUT calling Zoho: a code is never sent twice (also across
   * processes, under the store's lock `exchange:<hash>`).
   */
  async exchangeGrantToken(code: string, options: ExchangeOptions = {}): Promise<OAuthToken> {
    if (typeof code !== 'string' || code.length === 0) {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'code must be a non-empty string', { field: 'code' });
    }
    if (options.user !== undefined && (typeof options.user !== 'string' || options.user.length === 0)) {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'user must be a non-empty string', { field: 'user' });
    }
    const signal = signalOf(options);
    const env = exchangeEnvironment(this.#known, options);
    if (signal?.aborted) throw abortedError('exchangeGrantToken', signal);
    // Not cut short for other callers of the same code: the exchange goes on and its token is
    // saved, so a retry with the same code returns it (a code works only once at Zoho).
    const exchange = this.#exchanges.run(exchangeLockName(code), () => this.#exchangeOnce(code, env, options));
    return (await untilAborted(signal, 'exchangeGrantToken', exchange)).with();
  }

  // --- logout ----------------------------------------------------------------------------------

  /**
   * Revokes the refresh token at Zoho (at the token's own accounts server) and deletes the stored
   * token. A token Zoho no longer knows is deleted too; on any other failure (network, throttle)
   * the token stays stored and the error is thrown, so the revoke can be retried. Resolves false
   * when nothing was stored. Aborted (`signal`) before its lock or request, it revokes nothing;
   * aborted while the request is in flight, Zoho may have revoked it: the token stays stored, and
   * calling `revoke` again deletes it.
   */
  async revoke(who: TokenRef, options?: AbortOptions): Promise<boolean> {
    const signal = signalOf(options);
    if (signal?.aborted) throw abortedError('revoke', signal);
    const ref = parseTokenRef(who);
    const found = await this.#findOwn(ref);
    if (found === null) {
      this.#log.info({ who: describeRef(ref) }, 'revoke: nothing stored');
      return false;
    }
    const id = idOf(found);
    const running = this.#refresher.running(id)?.catch(() => undefined);
    if (running !== undefined) await untilAborted(signal, 'revoke', running);
    return withAfterHooks((after) => {
      const revoke = (): Promise<boolean> => this.#revokeLocked(id, after, signal);
      // A lock we cannot get does not stop a logout; an abort does, before anything is revoked.
      return withStoreLock(this.#store, refreshLockName(id), { ...this.#lock, signal }, revoke, revoke);
    });
  }

  /** Same as {@link revoke}. */
  logout(who: TokenRef, options?: AbortOptions): Promise<boolean> {
    return this.revoke(who, options);
  }

  /**
   * Revokes and deletes every stored token of this client id. Tries every token; resolves to how
   * many were removed, or throws the first failure (the failed ones stay stored).
   */
  async logoutAll(options?: AbortOptions): Promise<number> {
    const signal = signalOf(options);
    const tokens = (await this.#store.getTokens()).filter((t) => t.clientId === this.clientId && t.id);
    let removed = 0;
    let firstError: unknown;
    for (const token of tokens) {
      try {
        if (await this.revoke({ id: token.id! }, { signal })) removed++;
      } catch (error) {
        if (signal?.aborted) throw error;
        this.#log.error({ tokenId: token.id, err: error }, 'logoutAll: revoke failed');
        firstError ??= error;
      }
    }
    if (firstError !== undefined) throw firstError;
    return removed;
  }

  // --- internals: lookup -----------------------------------------------------------------------

  /**
   * A cache hit, unless the clock it was judged on is due for a measurement: an entry cached while
   * the accounts server could not be reached was judged on this host's own clock, and only a
   * store read (which measures first) may serve it again.
   */
  #cached(who: TokenRef, publishMiss = true): CacheEntry | undefined {
    let hit = this.#cache.lookup(who, this.#clock.now());
    if (hit !== undefined && this.#config.clockSync !== 'off' && this.#serverClock.needsSync()) hit = undefined;
    if (diagnostics.cache.hasSubscribers && (hit !== undefined || publishMiss))
      diagnostics.cache.publish(hit === undefined ? CACHE_MISS : CACHE_HIT);
    return hit;
  }

  /**
   * A cache miss. Concurrent misses for one user or id share one store read (and one refresh),
   * whose lock wait stops once every caller's `signal` has fired.
   */
  #load(who: TokenRef, signal: AbortSignal | undefined): Promise<CacheEntry> {
    const ref = parseTokenRef(who);
    if (ref.kind === 'token') return this.#loadNow(ref, signal);
    const key = ref.kind === 'user' ? `user:${ref.user}` : `id:${ref.id}`;
    return this.#loads.run(key, (unwanted) => this.#loadNow(ref, unwanted), signal);
  }

  async #loadNow(ref: ParsedRef, signal: AbortSignal | undefined): Promise<CacheEntry> {
    const stored = await this.#findOrAdopt(ref);
    const id = idOf(stored);
    // About to trust a stored expiry (perhaps another host's) without asking the server: know our skew first.
    if (!stored.isExpired(this.#clock.now())) await this.#syncClock();
    if (isFresh(stored, this.#clock.now(), this.#config.refreshMarginMs)) {
      this.#log.debug({ tokenId: id, user: stored.userName }, 'token served from the store');
      return this.#remember(stored as Ready, false);
    }
    if (!stored.refreshToken) {
      // Online access (no refresh token): serve the access token to its last minute, then require a login.
      if (!stored.isExpired(this.#clock.now())) return this.#remember(stored as Ready, true);
      throw noRefreshToken(stored);
    }
    const token = await this.#refresher.refreshOnce(id, stored.accessToken ?? null, 'expiry', signal);
    return this.#remember(token as Ready, true);
  }

  /** This client's stored token for `ref`, or null. Every query carries this client's id. */
  async #findOwn(ref: ParsedRef): Promise<OAuthToken | null> {
    if (ref.kind === 'user')
      return this.#store.findToken(new OAuthToken({ userSignature: ref.user, clientId: this.clientId }));
    if (ref.kind === 'id') return this.#readOwn(ref.id);
    const token = ref.token;
    if (token.clientId && token.clientId !== this.clientId) {
      throw new ZohoTokenError(
        ErrorCode.INVALID_ARGUMENT,
        `The token belongs to client ${token.clientId}, not to this ZohoAuth's`,
        { field: 'who' },
      );
    }
    // Only tokens without any client key are matched by access token (the store's rules).
    const keyed = token.userSignature || token.grantToken || token.refreshToken;
    const probe = keyed
      ? token.with({ clientId: this.clientId, clientSecret: token.clientSecret ?? this.#config.clientSecret })
      : token;
    return this.#own(await this.#store.findToken(probe));
  }

  async #readOwn(id: string): Promise<OAuthToken | null> {
    return this.#own(await this.#store.findTokenById(id));
  }

  #own(token: OAuthToken | null): OAuthToken | null {
    return token !== null && token.clientId === this.clientId ? token : null;
  }

  /**
   * The stored token; for an OAuthToken that is not stored (and has no id): its grant code is
   * exchanged, or its refresh token saved, as the official SDKs do. The caller's OAuthToken gets
   * the store's id, so later calls with it hit the cache.
   */
  async #findOrAdopt(ref: ParsedRef): Promise<OAuthToken> {
    const found = await this.#findOwn(ref);
    let token = found;
    if (token === null && ref.kind === 'token' && !ref.token.id) {
      const given = ref.token;
      if (given.refreshToken) {
        token = await this.#exchanges.run(`import:${exchangeLockName(given.refreshToken)}`, () => this.#import(given));
      } else if (given.grantToken) {
        token = await this.exchangeGrantToken(given.grantToken, given.userName ? { user: given.userName } : {});
      }
    }
    if (token === null) throw authRequired(`No token is stored for ${describeRef(ref)}: the user must log in`);
    if (ref.kind === 'token' && !ref.token.id) ref.token.id = token.id;
    return token;
  }

  async #import(given: OAuthToken): Promise<OAuthToken> {
    const accountsUrl = accountsUrlOf(this.#known, given);
    const token = new OAuthToken({
      userSignature: given.userSignature ?? undefined,
      clientId: this.clientId,
      clientSecret: this.#config.clientSecret,
      refreshToken: given.refreshToken,
      accessToken: given.accessToken ?? undefined,
      expiresAt: given.expiresAt ?? undefined,
      redirectUrl: given.redirectUrl ?? undefined,
      apiDomain: given.apiDomain ?? apiDomainFor(this.#known, accountsUrl, null),
      accountsUrl,
    });
    await this.#store.saveToken(token);
    this.#log.info({ tokenId: token.id, user: token.userName }, 'refresh token imported into the store');
    await this.#events.emit('saved', { token: token.with(), reason: 'import' });
    return token;
  }

  /**
   * A stored expiry may come from another host: judge it on the server's time. Only to the
   * configured accounts server, never to a URL from a stored row.
   */
  async #syncClock(): Promise<void> {
    if (this.#config.clockSync === 'off' || !this.#serverClock.needsSync()) return;
    const origin = new URL(this.environment.accountsUrl).origin;
    await this.#serverClock.sync(origin, this.#config.fetch, this.#config.timeoutMs, 1 + this.#config.retries);
  }

  /**
   * Caches a valid token. One we just obtained by refreshing stays cached for at least half its
   * remaining life even when that is shorter than the margin, so short-lived tokens (or a refresh
   * that failed while the old token was still valid) cannot cause a refresh on every call.
   */
  #remember(token: Ready, obtained: boolean): CacheEntry {
    const now = this.#clock.now();
    let refreshAt = token.expiresAt - this.#config.refreshMarginMs;
    if (obtained) refreshAt = Math.max(refreshAt, now + Math.floor((token.expiresAt - now) / 2));
    const apiDomain = token.apiDomain ?? apiDomainFor(this.#known, token.accountsUrl, null);
    return this.#cache.put(token.with() as Ready, apiDomain, refreshAt);
  }

  // --- internals: trust ---------------------------------------------------------------------

  /** Refuses (UNTRUSTED_ENDPOINT) to send credentials to `url`; the log names the origin, never a secret. */
  #untrusted(
    url: string | null | undefined,
    what: string,
    id: string | null | undefined,
    user: string | null | undefined,
  ): never {
    const whose = `token id ${id ?? '?'}${user ? ` (user ${user})` : ''}`;
    this.#log.error(
      { tokenId: id, user, endpoint: describeOrigin(url), sending: what },
      'refused to send credentials to an untrusted endpoint',
    );
    throw untrustedEndpoint(url, what, whose);
  }

  #credentials(): { clientId: string; clientSecret: string } {
    return { clientId: this.clientId, clientSecret: this.#config.clientSecret };
  }

  // --- internals: exchange and revoke ----------------------------------------------------------

  async #findByGrant(code: string): Promise<OAuthToken | null> {
    return this.#own(
      await this.#store.findToken(
        new OAuthToken({ clientId: this.clientId, clientSecret: this.#config.clientSecret, grantToken: code }),
      ),
    );
  }

  async #exchangeOnce(code: string, env: Environment, options: ExchangeOptions): Promise<OAuthToken> {
    const stored = async (): Promise<OAuthToken | null> => {
      const token = await this.#findByGrant(code);
      if (token !== null)
        this.#log.info(
          { tokenId: token.id, user: token.userName },
          'grant code already exchanged: returning the stored token, Zoho not called',
        );
      return token;
    };
    const existing = await stored();
    if (existing !== null) return existing;
    return withStoreLock(
      this.#store,
      exchangeLockName(code),
      this.#lock,
      async () => (await stored()) ?? this.#exchangeAndSave(code, env, options),
      async () => {
        const token = await stored();
        if (token !== null) return token;
        throw new ZohoTokenError(
          ErrorCode.LOCK_TIMEOUT,
          `Another process held the exchange lock of this grant code for ${this.#config.lockWaitMs} ms`,
        );
      },
    );
  }

  async #exchangeAndSave(code: string, env: Environment, options: ExchangeOptions): Promise<OAuthToken> {
    const redirectUrl = options.redirectUrl === undefined ? this.#config.redirectUrl : options.redirectUrl;
    const started = this.#clock.now();
    if (!this.#trusted.trusts(env.accountsUrl))
      this.#untrusted(env.accountsUrl, 'the client secret and grant code', null, options.user);
    const set = await exchangeAuthorizationCode(env, this.#credentials(), { code, redirectUrl }, this.#request);
    const apiDomain = apiDomainFor(this.#known, env.accountsUrl, set.apiDomain);
    let user = options.user ?? null;
    if (user === null && this.#config.lookupUser && this.#trusted.trusts(apiDomain)) {
      try {
        user = await fetchCurrentUserEmail(apiDomain, set.accessToken, {
          fetch: this.#config.fetch,
          timeoutMs: this.#config.timeoutMs,
        });
      } catch (error) {
        this.#log.warn(
          { apiDomain, err: error },
          'could not learn the user from the CRM; saving the token without a user',
        );
      }
    }
    const token = new OAuthToken({
      userSignature: user ?? undefined,
      clientId: this.clientId,
      clientSecret: this.#config.clientSecret,
      redirectUrl,
      grantToken: code,
      // No refresh token in the answer (re-consent without prompt=consent): keep a stored one.
      refreshToken: set.refreshToken ?? undefined,
      accessToken: set.accessToken,
      expiresAt: set.expiresAt,
      apiDomain,
      accountsUrl: env.accountsUrl,
    });
    try {
      await this.#store.saveToken(token);
    } catch (error) {
      this.#log.error({ user, err: error }, 'saving the exchanged token failed');
      // Nothing stored refers to the new refresh token: revoke it rather than leave it alive at Zoho.
      if (set.refreshToken) await revokeRefreshToken(env, set.refreshToken, this.#request).catch(() => undefined);
      throw error;
    }
    const id = idOf(token);
    const saved = (await this.#readOwn(id)) ?? token;
    if (!saved.refreshToken)
      this.#log.warn(
        { tokenId: id, user },
        'no refresh token stored for this user: it will need to log in again within the hour (use access_type=offline)',
      );
    this.#log.info(
      {
        tokenId: id,
        user,
        location: env.location,
        accountsUrl: env.accountsUrl,
        expiresAt: set.expiresAt,
        durationMs: this.#clock.now() - started,
      },
      'grant code exchanged and saved',
    );
    if (!saved.isExpired(this.#clock.now())) this.#remember(saved as Ready, true);
    await this.#events.emit('saved', { token: saved.with(), reason: 'exchange' });
    return saved;
  }

  async #revokeLocked(id: string, after: AfterHooks, signal: AbortSignal | undefined): Promise<boolean> {
    const token = await this.#readOwn(id);
    this.#cache.forget(id);
    if (token === null) return false;
    let revokedAtZoho = false;
    if (token.refreshToken) {
      const accountsUrl = accountsUrlOf(this.#known, token);
      if (!this.#trusted.trusts(accountsUrl)) this.#untrusted(accountsUrl, 'the refresh token', id, token.userName);
      try {
        await revokeRefreshToken({ accountsUrl }, token.refreshToken, { ...this.#request, signal });
        revokedAtZoho = true;
      } catch (error) {
        if (!isZohoTokenError(error, ErrorCode.INVALID_GRANT)) {
          this.#log.warn({ tokenId: id, err: error }, 'revoke failed at Zoho; the token stays stored');
          throw error;
        }
        this.#log.info(
          { tokenId: id },
          'Zoho did not know the refresh token any more; deleting the stored token anyway',
        );
      }
    }
    await this.#store.deleteToken(id);
    this.#cache.forget(id);
    this.#cooldown.forget(id);
    this.#forced.forget(id);
    this.#log.info({ tokenId: id, user: token.userName, revokedAtZoho }, 'token revoked and deleted');
    after.push(() => this.#events.emit('revoked', { token, revokedAtZoho }));
    return true;
  }
}
