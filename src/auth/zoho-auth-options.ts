import { ErrorCode, ZohoTokenError } from '../errors.js';
import type { Environment } from '../oauth/environment.js';
import { DEFAULT_MAX_BACKOFF_MS } from '../oauth/http.js';
import { assertTokenStore } from '../stores/kit/store-errors.js';
import type { TokenStore } from '../stores/kit/token-store.js';
import { HOOK_NAMES, type ZohoAuthHooks } from './events.js';
import { isLogger, silentLogger, type Logger } from '../logger.js';
import { isWinstonLike, winstonLogger } from '../logger-adapters.js';
import { parseTrustedOrigins } from './trusted-endpoints.js';

/** A source of time in epoch ms. The emulator's `emu.clock` fits. */
export interface Clock {
  /** The current time, epoch milliseconds. */
  now(): number;
}

/**
 * The options of `new ZohoAuth(options)`. Every one is checked when ZohoAuth is built: a bad value
 * throws `INVALID_ARGUMENT` with `field` naming the option.
 */
export interface ZohoAuthOptions {
  /** Where tokens live; share it between processes. Its optional `lock` makes a refresh happen once across processes. */
  store: TokenStore;
  /** The client's data center and environment: `DataCenter.EU.production`, `emu.environment`, … (plain data). */
  environment: Environment;
  /**
   * Further environments a web-flow callback's `location` may select, for setups outside Zoho's
   * table (the emulator's other data centers). Zoho's own data centers of the same kind as
   * `environment` are always known.
   * @default []
   */
  environments?: readonly Environment[];
  /**
   * Further origins (`https://zoho-proxy.example.com`) that may receive the client secret, refresh
   * and access tokens. A stored row's `accounts_url` / `api_domain` is used only when it is a Zoho
   * data center's server, an endpoint of `environment` / `environments`, or listed here: anything
   * else fails with UNTRUSTED_ENDPOINT and nothing is sent (someone who can write to the database
   * must not be able to redirect secrets to their server).
   * @default []
   */
  trustedEndpoints?: readonly string[];
  /** The OAuth client id (Zoho API console). Non-empty. */
  clientId: string;
  /** The OAuth client secret. Non-empty; never logged, scrubbed from errors. */
  clientSecret: string;
  /**
   * The registered redirect URI, sent with web-flow code exchanges and used by `authorizationUrl`.
   * Not needed for Self Client codes.
   * @default undefined
   */
  redirectUrl?: string;
  /**
   * A token is refreshed when it expires within this many ms (Zoho tokens live one hour).
   * @default 300_000 (5 minutes)
   */
  refreshMarginMs?: number;
  /**
   * Where ZohoAuth logs: console and pino fit as they are; a winston logger is adapted by itself
   * ({@link winstonLogger}); the `debug` package through `debugLogger`. Everything passes a
   * redacting wrapper first.
   * @default silentLogger
   */
  logger?: Logger;
  /**
   * `fetch` for the accounts server and the CRM current-user lookup.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
  /**
   * Time source for expiries, margins and throttle windows (not for lock leases, which use the wall clock).
   * @default Date
   */
  clock?: Clock;
  /**
   * Time limit of one request to the accounts server, in ms.
   * @default 10_000
   */
  timeoutMs?: number;
  /**
   * Extra attempts after a network error or 5xx from the accounts server (never after an answer).
   * @default 2
   */
  retries?: number;
  /**
   * How long a cross-process refresh lock holds if its holder dies, in ms. A refresh that would
   * outlast the lease is cut short (no retry starts that cannot finish in time), so a second
   * process never refreshes while the first still might save.
   * @default timeoutMs × (retries + 1) + 5 s × retries (the longest backoff) + 10 s: 50 s with the defaults
   */
  lockLeaseMs?: number;
  /**
   * How long to wait for another process's refresh, in ms; longer than the lease, so a waiter
   * outlives a crashed holder.
   * @default lockLeaseMs + 15 s
   */
  lockWaitMs?: number;
  /**
   * After a 401 on an access token that a forced refresh minted less than this long ago, no new
   * refresh is attempted (the cause is elsewhere: wrong API domain, scope): no refresh loops.
   * @default 60_000
   */
  forcedRefreshIntervalMs?: number;
  /**
   * When `exchangeGrantToken` is given no user, learn it from `GET /crm/v8/users?type=CurrentUser`
   * (needs the `ZohoCRM.users.READ` scope). When off or failing, the token is saved without a user.
   * @default true
   */
  lookupUser?: boolean;
  /**
   * Awaited lifecycle hooks; a failing hook is logged, never fatal.
   * @default {}
   */
  hooks?: ZohoAuthHooks;
  /**
   * Clock skew: expiries follow the accounts server's clock, measured from the `Date` header of
   * its responses (see `auth.serverClock`). With `'auto'`, a host that has not talked to the
   * accounts server for an hour first sends one `HEAD` to the configured `environment`'s accounts
   * server (never to a URL from a stored row) before judging a stored expiry. `'off'`: no such
   * request; the responses of refreshes are still measured.
   * @default 'auto'
   */
  clockSync?: 'auto' | 'off';
  /**
   * After a failed refresh (5xx, timeout, network error, malformed answer, throttle, rejected
   * client) the token cools down: no refresh of it is attempted, and callers fail fast with the
   * last error (its code, with `retryAfterMs`), for a jittered window of between half and all of
   * `refreshBackoffMs × 2^(failures − 1)`, capped at `maxRefreshBackoffMs` (at least Zoho's retry
   * time after a throttle). Shared through the store's lock when it has one. A still-valid access
   * token keeps being served meanwhile. 0 turns the back-off off (a throttle still blocks).
   * @default 1_000
   */
  refreshBackoffMs?: number;
  /**
   * Upper bound of the cool-down window after repeated failed refreshes, in ms.
   * @default 60_000
   */
  maxRefreshBackoffMs?: number;
}

/** Options after validation and defaults; frozen. */
export interface ZohoAuthConfig {
  readonly store: TokenStore;
  readonly environment: Environment;
  readonly environments: readonly Environment[];
  readonly trustedEndpoints: readonly string[];
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUrl: string | null;
  readonly refreshMarginMs: number;
  readonly logger: Logger;
  readonly fetch: typeof fetch;
  readonly clock: Clock;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly lockLeaseMs: number;
  readonly lockWaitMs: number;
  readonly forcedRefreshIntervalMs: number;
  readonly lookupUser: boolean;
  readonly hooks: Readonly<ZohoAuthHooks>;
  readonly clockSync: 'auto' | 'off';
  readonly refreshBackoffMs: number;
  readonly maxRefreshBackoffMs: number;
}

function invalid(field: string, message: string): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `ZohoAuth options.${field} ${message}`, { field });
}

function nonEmpty(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0) throw invalid(field, 'must be a non-empty string');
  return value;
}

function httpUrl(field: string, value: unknown): string {
  nonEmpty(field, value);
  if (!URL.canParse(value as string) || !/^https?:$/.test(new URL(value as string).protocol)) {
    throw invalid(field, 'must be an absolute http(s) URL');
  }
  return value as string;
}

function number(field: string, value: unknown, fallback: number, ok: (n: number) => boolean, rule: string): number {
  const n = value === undefined ? fallback : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || !ok(n)) throw invalid(field, `must be ${rule}`);
  return n;
}

function environment(field: string, value: unknown): Environment {
  if (typeof value !== 'object' || value === null) throw invalid(field, 'must be an Environment object');
  const env = value as Record<string, unknown>;
  const kind = env.kind;
  if (!['production', 'sandbox', 'developer', 'custom'].includes(kind as string)) {
    throw invalid(`${field}.kind`, 'must be production, sandbox, developer or custom');
  }
  return Object.freeze({
    name: nonEmpty(`${field}.name`, env.name),
    location: nonEmpty(`${field}.location`, env.location),
    kind: kind as Environment['kind'],
    accountsUrl: httpUrl(`${field}.accountsUrl`, env.accountsUrl).replace(/\/+$/, ''),
    apiDomain: httpUrl(`${field}.apiDomain`, env.apiDomain).replace(/\/+$/, ''),
  });
}

/** Validates every option once (INVALID_ARGUMENT naming it) and returns the frozen configuration. */
export function resolveZohoAuthOptions(options: ZohoAuthOptions): ZohoAuthConfig {
  if (typeof options !== 'object' || options === null) throw invalid('', 'must be an object');
  // ZohoAuth never closes the store: a store without close() is accepted.
  assertTokenStore(options.store, 'ZohoAuth options', false);
  if (options.environments !== undefined && !Array.isArray(options.environments))
    throw invalid('environments', 'must be an array');
  // A winston logger has the four methods too, but its info(obj, msg) would lose the message.
  const logger = isWinstonLike(options.logger) ? winstonLogger(options.logger) : (options.logger ?? silentLogger);
  if (!isLogger(logger)) throw invalid('logger', 'must have debug, info, warn and error methods');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw invalid('fetch', 'must be a function');
  const clock = options.clock ?? Date;
  if (typeof clock !== 'object' && typeof clock !== 'function') throw invalid('clock', 'must have a now() method');
  if (typeof (clock as Clock).now !== 'function') throw invalid('clock', 'must have a now() method');
  const hooks = options.hooks ?? {};
  if (typeof hooks !== 'object' || hooks === null) throw invalid('hooks', 'must be an object');
  for (const name of HOOK_NAMES) {
    if (hooks[name] !== undefined && typeof hooks[name] !== 'function')
      throw invalid(`hooks.${name}`, 'must be a function');
  }
  if (options.lookupUser !== undefined && typeof options.lookupUser !== 'boolean')
    throw invalid('lookupUser', 'must be a boolean');
  if (options.clockSync !== undefined && options.clockSync !== 'auto' && options.clockSync !== 'off')
    throw invalid('clockSync', "must be 'auto' or 'off'");
  const positive = (n: number): boolean => n > 0;
  const nonNegative = (n: number): boolean => n >= 0;
  // Node's timers take at most 2^31 - 1 ms; a longer one would fire at once.
  const timeoutMs = number(
    'timeoutMs',
    options.timeoutMs,
    10_000,
    (n) => n > 0 && n <= 2 ** 31 - 1,
    'a number of ms from 1 to 2147483647',
  );
  const retries = number('retries', options.retries, 2, (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0');
  // The lease must outlive the longest refresh: every attempt timing out, plus the backoff between them.
  const longestRefreshMs = timeoutMs * (retries + 1) + DEFAULT_MAX_BACKOFF_MS * retries;
  const lockLeaseMs = number(
    'lockLeaseMs',
    options.lockLeaseMs,
    longestRefreshMs + 10_000,
    positive,
    'a number of ms > 0',
  );
  return Object.freeze({
    store: options.store,
    environment: environment('environment', options.environment),
    environments: Object.freeze((options.environments ?? []).map((env, i) => environment(`environments[${i}]`, env))),
    trustedEndpoints: parseTrustedOrigins(options.trustedEndpoints),
    clientId: nonEmpty('clientId', options.clientId),
    clientSecret: nonEmpty('clientSecret', options.clientSecret),
    redirectUrl: options.redirectUrl === undefined ? null : httpUrl('redirectUrl', options.redirectUrl),
    refreshMarginMs: number('refreshMarginMs', options.refreshMarginMs, 300_000, nonNegative, 'a number of ms >= 0'),
    logger,
    fetch: fetchImpl,
    clock: clock as Clock,
    timeoutMs,
    retries,
    lockLeaseMs,
    lockWaitMs: number('lockWaitMs', options.lockWaitMs, lockLeaseMs + 15_000, nonNegative, 'a number of ms >= 0'),
    forcedRefreshIntervalMs: number(
      'forcedRefreshIntervalMs',
      options.forcedRefreshIntervalMs,
      60_000,
      nonNegative,
      'a number of ms >= 0',
    ),
    lookupUser: options.lookupUser ?? true,
    hooks: Object.freeze({ ...hooks }),
    clockSync: options.clockSync ?? 'auto',
    refreshBackoffMs: number('refreshBackoffMs', options.refreshBackoffMs, 1_000, nonNegative, 'a number of ms >= 0'),
    maxRefreshBackoffMs: number(
      'maxRefreshBackoffMs',
      options.maxRefreshBackoffMs,
      60_000,
      nonNegative,
      'a number of ms >= 0',
    ),
  });
}
