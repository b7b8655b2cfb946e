import { ErrorCode, ZohoTokenError } from '../errors.js';
import type { Environment } from '../oauth/environment.js';
import { ADMIN_PREFIX } from './admin-routes.js';
import { createEmulatorClock, createRealEmulatorClock, type EmulatorClock } from './clock.js';
import { decideConsent } from './consent-decision.js';
import { crmStores, type EmulatorCore } from './core.js';
import { FaultRegistry, type FaultControls } from './faults.js';
import { createFetch } from './fetch-handler.js';
import { issueGrantCode, type GrantCodeRequest } from './grant-code.js';
import { invalid } from './invalid-argument.js';
import { createRequestHandler } from './node-listener.js';
import { resolveOptions, type EmulatorClient, type EmulatorUser, type ZohoEmulatorOptions } from './options.js';
import { PendingConsents } from './pending-consents.js';
import { listen, type Listener } from './server.js';
import { OAuthState, type TokenInfo } from './state.js';
import { StatsRecorder, type EmulatorStats } from './stats.js';

export type { GrantCodeRequest } from './grant-code.js';

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
   *   `dc` or `dataCenters` entry the emulator does not serve, or a redirect URI that is not an
   *   absolute URL.
   */
  addClient(client: EmulatorClient): void;
  /**
   * Adds a user to the org of each data center listed (default: every one), as the `users`
   * option does; users who consent are added on their own.
   *
   * @throws `ZohoTokenError` `INVALID_ARGUMENT` (with `field`) for a bad email or an unserved data center.
   */
  addUser(user: EmulatorUser): void;
  /**
   * Base URL of the admin HTTP API (`<url>/__admin`) when the `admin` option is set, else undefined.
   * Every data center's listener serves it.
   */
  readonly adminUrl: string | undefined;
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
  const clock = resolved.clock === 'real' ? createRealEmulatorClock(options.now) : createEmulatorClock(options.now);
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
    pending: new PendingConsents(clock),
    closing: closing.signal,
  };
  const addUser = (user: EmulatorUser): void => {
    if (typeof user?.email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(user.email))
      throw invalid('users.email', 'a user needs an email');
    const dcs = user.dataCenters ?? resolved.dataCenters;
    for (const dc of dcs) {
      if (!resolved.dataCenters.includes(dc)) throw invalid('users.dataCenters', `no data center "${dc}"`);
    }
    for (const dc of dcs) core.crm(dc).user(user.email);
  };
  for (const user of options.users ?? []) addUser(user);

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

  const dcByOrigin = new Map([...listeners].map(([dc, listener]) => [new URL(listener.url).origin, dc] as const));
  const decideUrl = async (authUrl: string | URL, user: string | undefined): Promise<string> => {
    const url = new URL(authUrl);
    return decideConsent(core, url.searchParams, user, dcByOrigin.get(url.origin));
  };
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
    addUser,
    adminUrl: resolved.admin === undefined ? undefined : core.urlOf(resolved.defaultDataCenter) + ADMIN_PREFIX,
    createGrantCode: async (request: GrantCodeRequest) => issueGrantCode(core, request).code,
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
