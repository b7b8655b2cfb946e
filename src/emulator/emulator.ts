import { ErrorCode, ZohoTokenError } from '../errors.js';
import type { Environment } from '../oauth/environment.js';
import { decide, validateAuthRequest, type AuthPageError } from './authorize.js';
import { createEmulatorClock, type EmulatorClock } from './clock.js';
import { crmStores, type EmulatorCore } from './core.js';
import { FaultRegistry, type FaultControls } from './faults.js';
import { createFetch } from './fetch-handler.js';
import { invalid } from './invalid-argument.js';
import { createRequestHandler } from './node-listener.js';
import { resolveOptions, type EmulatorClient, type ZohoEmulatorOptions } from './options.js';
import { parseScopes } from './scopes.js';
import { listen, type Listener } from './server.js';
import { OAuthState, type TokenInfo } from './state.js';
import { StatsRecorder, type EmulatorStats } from './stats.js';

/** Input of the Self Client path. */
export interface GrantCodeRequest {
  /** A client added with the `clients` option or `addClient`. */
  readonly clientId: string;
  /** The user's email. */
  readonly user: string;
  /** Scope list, or Zoho's comma-separated string. */
  readonly scopes: readonly string[] | string;
  /** `offline` yields a refresh token on exchange. @default 'offline' */
  readonly accessType?: 'offline' | 'online';
  /** Code lifetime in ms. @default the `selfClientCodeLifetimeMs` option (3 minutes) */
  readonly expiresInMs?: number;
}

/** A running emulator. Every member is per instance; nothing is shared between emulators. */
export interface ZohoEmulator {
  /** Base URL of the default data center: accounts server and API domain at once. */
  readonly url: string;
  /** The default data center's environment (kind `custom`). */
  readonly environment: Environment;
  /** Data centers served, the default one first. */
  readonly dataCenters: readonly string[];
  /** The environment of one data center (its own listener and URL). */
  environmentFor(dc: string): Environment;
  /** The emulator's time; hand it to code under test as its clock. */
  readonly clock: EmulatorClock;
  /** Fault injection. */
  readonly faults: FaultControls;
  /**
   * Registers (or replaces) a client, as the `clients` option does.
   *
   * @throws `ZohoTokenError` `INVALID_ARGUMENT` (with `field`) for an empty id or secret, a
   *   `dc` the emulator does not serve, or a redirect URI that is not an absolute URL.
   */
  addClient(client: EmulatorClient): void;
  /** Self Client: a grant code (`1000.<32 hex>.<32 hex>`) exchangeable without a redirect URI. */
  createGrantCode(request: GrantCodeRequest): Promise<string>;
  /**
   * Completes the web flow without HTML: takes the authorization URL a client built (any of the
   * emulator's listeners) and returns the URL the browser would be redirected to.
   */
  approve(authUrl: string | URL, as: { readonly user: string }): Promise<string>;
  /** Like `approve`, but the user clicks Deny (`error=access_denied`). */
  deny(authUrl: string | URL): Promise<string>;
  /** Makes `GET /oauth/v2/auth` approve at once as `user` (undefined: show the page again). */
  setAutoApprove(user: string | undefined): void;
  /** A copy of the counters so far; later requests do not change it. */
  stats(): EmulatorStats;
  /** Sets every counter back to zero. */
  resetStats(): void;
  /** Unexpired access tokens minted from a refresh token (0 if it is unknown or revoked). */
  liveAccessTokens(refreshToken: string): number;
  /** Valid refresh tokens of a user+client, oldest first. */
  refreshTokensOf(grant: { readonly clientId: string; readonly user: string }): string[];
  /** What the emulator knows about a live token, or undefined. */
  tokenInfo(token: string): TokenInfo | undefined;
  /** Makes every access token expired at the current emulator time; returns how many. */
  expireAccessTokens(): number;
  /** Revokes every refresh token (and with them all access tokens); returns how many. */
  revokeAll(): number;
  /**
   * The emulator as a web-standard handler: `fetch` served in process, through the same routes,
   * faults, stats and observer as the listeners, with no socket. Pass it as the `fetch` option of
   * `ZohoAuth` / `ZohoClient` (it needs no `this`). A request goes to the data center whose
   * listener URL has its origin (`emu.url`, `emu.environmentFor(dc)`); any other origin, or any
   * call after `close()`, rejects with `TypeError: fetch failed` (cause code `ECONNREFUSED`), as a
   * real fetch to a port nobody listens on. A dropped connection (`reset` fault, or `close()`
   * during an injected delay) rejects with `TypeError: fetch failed` (cause code
   * `UND_ERR_SOCKET`); an aborted `signal` rejects with its reason (an `AbortError` by default)
   * at once, even during an injected delay, while the emulator finishes the request as a server
   * would. Redirects are returned (302 with `location`), never followed.
   */
  readonly fetch: typeof globalThis.fetch;
  /** Closes every listener and connection; safe to call twice. */
  close(): Promise<void>;
}

/** Starts the emulator: one HTTP listener per data center on `host`. */
export async function startZohoEmulator(options: ZohoEmulatorOptions = {}): Promise<ZohoEmulator> {
  const resolved = resolveOptions(options);
  const clock = createEmulatorClock(options.now);
  const stats = new StatsRecorder();
  const faults = new FaultRegistry();
  for (const spec of options.faults ?? []) faults.inject(spec);
  const state = new OAuthState(resolved, clock, stats);
  for (const client of options.clients ?? []) state.addClient(client);

  const closing = new AbortController();
  const listeners = new Map<string, Listener>();
  const core: EmulatorCore = {
    options: resolved,
    clock,
    state,
    stats,
    faults,
    observer: options.observer,
    crm: crmStores(resolved, clock),
    urlOf: (dc) => {
      const listener = listeners.get(dc);
      if (listener === undefined) throw invalid('dc', `the emulator serves no data center "${dc}"`);
      return listener.url;
    },
    autoApprove: options.autoApprove === undefined ? undefined : { user: options.autoApprove.user },
    closing: closing.signal,
  };

  const order = [resolved.defaultDataCenter, ...resolved.dataCenters.filter((dc) => dc !== resolved.defaultDataCenter)];
  try {
    for (const dc of order) {
      const port = dc === resolved.defaultDataCenter ? resolved.port : (resolved.ports[dc] ?? 0);
      listeners.set(dc, await listen(createRequestHandler(core, dc), resolved.host, port));
    }
  } catch (error) {
    await Promise.all([...listeners.values()].map((l) => l.close()));
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `the emulator could not listen on ${resolved.host}`, {
      field: 'port',
      cause: error,
    });
  }

  const environments = new Map(
    order.map((dc) => {
      const url = core.urlOf(dc);
      const env: Environment = Object.freeze({
        name: `emulator-${dc}`,
        location: dc,
        kind: 'custom',
        accountsUrl: url,
        apiDomain: url,
      });
      return [dc, env] as const;
    }),
  );
  const environmentFor = (dc: string): Environment => {
    const env = environments.get(dc);
    if (env === undefined) throw invalid('dc', `the emulator serves no data center "${dc}"`);
    return env;
  };

  const decideUrl = async (authUrl: string | URL, user: string | undefined): Promise<string> => {
    const url = new URL(authUrl);
    const checked = validateAuthRequest(core, url.searchParams);
    if (!checked.ok) throw authError(checked);
    const outcome = decide(core, checked.request, user === undefined ? { approve: false } : { approve: true, user });
    if (!outcome.ok) throw authError(outcome);
    return outcome.location;
  };

  const dcByOrigin = new Map([...listeners].map(([dc, listener]) => [new URL(listener.url).origin, dc] as const));
  const fetch = createFetch(core, (origin) => (closing.signal.aborted ? undefined : dcByOrigin.get(origin)));

  let closed: Promise<void> | undefined;
  return {
    url: core.urlOf(resolved.defaultDataCenter),
    environment: environmentFor(resolved.defaultDataCenter),
    dataCenters: order,
    environmentFor,
    clock,
    faults,
    addClient: (client) => void state.addClient(client),
    createGrantCode: async (request) => {
      const client = state.client(request.clientId);
      if (client === undefined) throw new ZohoTokenError(ErrorCode.INVALID_CLIENT, 'unknown clientId');
      if (typeof request.user !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(request.user))
        throw invalid('user', 'user must be an email');
      const scopes = parseScopes(request.scopes);
      if (scopes.length === 0) throw invalid('scopes', 'at least one scope is required');
      const lifetimeMs = request.expiresInMs ?? resolved.selfClientCodeLifetimeMs;
      if (!Number.isFinite(lifetimeMs) || lifetimeMs <= 0) throw invalid('expiresInMs', 'expiresInMs must be > 0');
      const issued = state.issueCode({
        clientId: client.clientId,
        user: request.user,
        scopes,
        offline: (request.accessType ?? 'offline') === 'offline',
        redirectUri: undefined,
        forceConsent: true,
        lifetimeMs,
      });
      if (!issued.ok) {
        throw new ZohoTokenError(ErrorCode.THROTTLED, 'grant code limit reached for this client', {
          retryAfterMs: issued.retryAfterMs,
        });
      }
      core.crm(client.dc).user(request.user);
      return issued.code;
    },
    approve: (authUrl, as) => decideUrl(authUrl, as.user),
    deny: (authUrl) => decideUrl(authUrl, undefined),
    setAutoApprove: (user) => {
      core.autoApprove = user === undefined ? undefined : { user };
    },
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    liveAccessTokens: (refreshToken) => state.liveAccessTokens(refreshToken),
    refreshTokensOf: ({ clientId, user }) => state.refreshTokensOf(clientId, user),
    tokenInfo: (token) => state.tokenInfo(token),
    expireAccessTokens: () => state.expireAccessTokens(),
    revokeAll: () => state.revokeAll(),
    fetch,
    close: () =>
      (closed ??= (async () => {
        closing.abort();
        await Promise.all([...listeners.values()].map((l) => l.close()));
      })()),
  };
}

function authError(failure: AuthPageError): ZohoTokenError {
  switch (failure.reason) {
    case 'invalid_client':
      return new ZohoTokenError(ErrorCode.INVALID_CLIENT, failure.message);
    case 'invalid_redirect_uri':
      return new ZohoTokenError(ErrorCode.INVALID_REDIRECT_URI, failure.message);
    case 'throttled':
      return new ZohoTokenError(ErrorCode.THROTTLED, failure.message, { retryAfterMs: failure.retryAfterMs ?? 0 });
    case 'invalid_request':
      return new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, failure.message);
  }
}
