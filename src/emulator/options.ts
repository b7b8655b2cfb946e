import type { FaultSpec } from './faults.js';
import { invalid } from './invalid-argument.js';
import type { EmulatorObserver } from './observer.js';

/** A registered OAuth client (what Zoho's API console would hold). */
export interface EmulatorClient {
  /** e.g. `1000.ABC…`; any non-empty string is accepted. */
  readonly clientId: string;
  /** The secret the token endpoint checks; any non-empty string. */
  readonly clientSecret: string;
  /** Exact-match redirect URIs for the web flow. May be empty for a Self Client. @default [] */
  readonly redirectUris?: readonly string[];
  /**
   * The data center the client is registered in (its home). @default the first of `dataCenters`,
   * else the emulator's default data center
   */
  readonly dc?: string;
  /**
   * Data centers the client is enabled in, as Zoho's multi-DC setting allows (same id and secret
   * everywhere). Each data center knows only the codes and tokens it issued: a refresh token from
   * one answers `invalid_code` at another's accounts server. @default [dc]
   */
  readonly dataCenters?: readonly string[];
  /** The application's name, shown on the consent page. @default the client id */
  readonly name?: string;
}

/** A user known from the start (listed by the CRM users API before any consent). */
export interface EmulatorUser {
  /** The user's email. */
  readonly email: string;
  /** Data centers whose org has the user. @default every data center served */
  readonly dataCenters?: readonly string[];
}

/**
 * The admin HTTP API under `/__admin/` (never part of Zoho's surface): mint Self Client codes,
 * approve consents, move the clock, inject faults, read counters, add clients and users, list
 * tokens. Off unless this option is given.
 */
export interface EmulatorAdminOptions {
  /**
   * When set, every admin request needs `Authorization: Bearer <token>`. Required when `host` is
   * not a loopback address: the admin API is never served to the network without it.
   * @default undefined (no token: loopback only)
   */
  readonly token?: string;
}

/** The limits Zoho enforces; every one can be changed for a test. */
export interface EmulatorLimits {
  /** Access tokens one refresh token may mint in `mintWindowMs` (refresh grants only). @default 10 */
  readonly mintsPerWindow?: number;
  /** Sliding window for `mintsPerWindow`, on the emulator clock. @default 600_000 (10 minutes) */
  readonly mintWindowMs?: number;
  /** Unexpired access tokens per refresh token; minting one more evicts the oldest. @default 15 */
  readonly liveAccessTokensPerRefreshToken?: number;
  /** Refresh tokens per user and client; issuing one more deletes the oldest. @default 20 */
  readonly refreshTokensPerUserClient?: number;
  /** Grant codes one client may get in `grantCodeWindowMs` (web flow and Self Client together). @default 10 */
  readonly grantCodesPerWindow?: number;
  /** Sliding window for `grantCodesPerWindow`. @default 600_000 (10 minutes) */
  readonly grantCodeWindowMs?: number;
}

/** How a dead (expired, revoked, evicted, unknown) access token is answered by the CRM API. */
export type DeadTokenError = 'INVALID_TOKEN' | 'AUTHENTICATION_FAILURE';

/**
 * The options of {@link startZohoEmulator}. A bad value rejects with `INVALID_ARGUMENT` naming the
 * option.
 */
export interface ZohoEmulatorOptions {
  /** Registered clients; more can be added later with `emu.addClient`. @default [] */
  readonly clients?: readonly EmulatorClient[];
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** Port of the default data center's listener; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Ports of the other data centers' listeners, by location; missing ones are picked freely. @default {} */
  readonly ports?: Readonly<Record<string, number>>;
  /** Data centers (Zoho `location` values) to serve, each on its own listener. @default ['us'] */
  readonly dataCenters?: readonly string[];
  /** The data center served on `emu.url`. @default 'us' if listed, else the first of `dataCenters` */
  readonly defaultDataCenter?: string;
  /** Start time of the emulator clock, epoch milliseconds. @default Date.now() */
  readonly now?: number;
  /**
   * `manual`: time stands still until `emu.clock.advance` / `set` moves it (tests). `real`: time
   * follows the host's clock from `now`, and `advance` / `set` shift it (the standalone server).
   * @default 'manual'
   */
  readonly clock?: 'manual' | 'real';
  /** Users known from the start, by email (the consent page's account chooser offers them). @default [] */
  readonly users?: readonly EmulatorUser[];
  /** Serve the admin HTTP API under `/__admin/`. @default undefined (off) */
  readonly admin?: EmulatorAdminOptions;
  /** Access token lifetime in seconds. @default 3600 */
  readonly accessTokenLifetimeSec?: number;
  /** Lifetime of web-flow grant codes in ms. @default 120_000 (2 minutes) */
  readonly codeLifetimeMs?: number;
  /** Default lifetime of Self Client grant codes in ms. @default 180_000 (3 minutes) */
  readonly selfClientCodeLifetimeMs?: number;
  /** Zoho's limits. @default see {@link EmulatorLimits} */
  readonly limits?: EmulatorLimits;
  /** Answer with the old shape `"expires_in_sec":3600, "expires_in":3600000` (ms). @default false */
  readonly legacyExpiresInSec?: boolean;
  /**
   * Issue a refresh token on every offline web-flow consent, not only when the user+client has no
   * live refresh token (or `prompt=consent` is given). @default false
   */
  readonly refreshTokenOnEveryConsent?: boolean;
  /** What the CRM API answers for a dead access token. @default 'INVALID_TOKEN' */
  readonly deadTokenError?: DeadTokenError;
  /** `error_description` of the throttle body; Zoho's newer wording is also seen. @default "You have made too many requests continuously. Please try again after some time." */
  readonly throttleDescription?: string;
  /** When set, `GET /oauth/v2/auth` skips the page and approves at once as this user. @default undefined */
  readonly autoApprove?: {
    /** The email the approval is given as. */
    readonly user: string;
  };
  /** Pre-selected user email on the consent page when the request has no `login_hint`. @default '' */
  readonly defaultUser?: string;
  /** Faults active from the start (see `emu.faults.inject`). @default [] */
  readonly faults?: readonly FaultSpec[];
  /** `company_name` of each data center's org. @default 'Emulated Org' */
  readonly companyName?: string;
  /** Largest request body accepted, in bytes; bigger gets HTTP 413. @default 1_048_576 */
  readonly maxBodyBytes?: number;
  /** Sees every minted access token and how every token/API request ended (soak harnesses). @default undefined */
  readonly observer?: EmulatorObserver;
}

/** The default {@link ZohoEmulatorOptions.throttleDescription}: Zoho's classic throttle wording. */
export const CLASSIC_THROTTLE_DESCRIPTION =
  'You have made too many requests continuously. Please try again after some time.';

/** Options with every default filled in. */
export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly ports: Readonly<Record<string, number>>;
  readonly dataCenters: readonly string[];
  readonly defaultDataCenter: string;
  readonly accessTokenLifetimeMs: number;
  readonly codeLifetimeMs: number;
  readonly selfClientCodeLifetimeMs: number;
  readonly limits: Required<EmulatorLimits>;
  readonly legacyExpiresInSec: boolean;
  readonly refreshTokenOnEveryConsent: boolean;
  readonly deadTokenError: DeadTokenError;
  readonly throttleDescription: string;
  readonly defaultUser: string;
  readonly companyName: string;
  readonly maxBodyBytes: number;
  readonly clock: 'manual' | 'real';
  /** undefined: the admin API is off. */
  readonly admin: { readonly token: string | undefined } | undefined;
}

export function resolveOptions(options: ZohoEmulatorOptions): ResolvedOptions {
  const dataCenters = [...new Set(options.dataCenters ?? ['us'])];
  if (dataCenters.length === 0 || dataCenters.some((dc) => !/^[a-z]{2,8}$/.test(dc))) {
    throw invalid('dataCenters', 'dataCenters must list lower-case locations such as "us", "eu"');
  }
  const defaultDataCenter = options.defaultDataCenter ?? (dataCenters.includes('us') ? 'us' : dataCenters[0]!);
  if (!dataCenters.includes(defaultDataCenter)) {
    throw invalid('defaultDataCenter', `defaultDataCenter "${defaultDataCenter}" is not in dataCenters`);
  }
  const limits = options.limits ?? {};
  const host = options.host ?? '127.0.0.1';
  if (options.clock !== undefined && options.clock !== 'manual' && options.clock !== 'real')
    throw invalid('clock', 'clock must be "manual" or "real"');
  let admin: ResolvedOptions['admin'];
  if (options.admin !== undefined) {
    const token = options.admin.token;
    if (token !== undefined && (typeof token !== 'string' || token.length < 8))
      throw invalid('admin.token', 'admin.token must be a string of at least 8 characters');
    // The admin API mints codes and moves time: never hand that to the network without a token.
    if (token === undefined && !isLoopback(host))
      throw invalid('admin.token', `the admin API on non-loopback host "${host}" needs admin.token`);
    admin = { token };
  }
  return {
    host,
    port: port(options.port ?? 0, 'port'),
    ports: Object.fromEntries(Object.entries(options.ports ?? {}).map(([dc, p]) => [dc, port(p, `ports.${dc}`)])),
    dataCenters,
    defaultDataCenter,
    accessTokenLifetimeMs: positive(options.accessTokenLifetimeSec ?? 3600, 'accessTokenLifetimeSec') * 1000,
    codeLifetimeMs: positive(options.codeLifetimeMs ?? 120_000, 'codeLifetimeMs'),
    selfClientCodeLifetimeMs: positive(options.selfClientCodeLifetimeMs ?? 180_000, 'selfClientCodeLifetimeMs'),
    limits: {
      mintsPerWindow: positive(limits.mintsPerWindow ?? 10, 'limits.mintsPerWindow'),
      mintWindowMs: positive(limits.mintWindowMs ?? 600_000, 'limits.mintWindowMs'),
      liveAccessTokensPerRefreshToken: positive(
        limits.liveAccessTokensPerRefreshToken ?? 15,
        'limits.liveAccessTokensPerRefreshToken',
      ),
      refreshTokensPerUserClient: positive(
        limits.refreshTokensPerUserClient ?? 20,
        'limits.refreshTokensPerUserClient',
      ),
      grantCodesPerWindow: positive(limits.grantCodesPerWindow ?? 10, 'limits.grantCodesPerWindow'),
      grantCodeWindowMs: positive(limits.grantCodeWindowMs ?? 600_000, 'limits.grantCodeWindowMs'),
    },
    legacyExpiresInSec: options.legacyExpiresInSec ?? false,
    refreshTokenOnEveryConsent: options.refreshTokenOnEveryConsent ?? false,
    deadTokenError: options.deadTokenError ?? 'INVALID_TOKEN',
    throttleDescription: options.throttleDescription ?? CLASSIC_THROTTLE_DESCRIPTION,
    defaultUser: options.defaultUser ?? '',
    companyName: options.companyName ?? 'Emulated Org',
    maxBodyBytes: positive(options.maxBodyBytes ?? 1_048_576, 'maxBodyBytes'),
    clock: options.clock ?? 'manual',
    admin,
  };
}

/** `127.0.0.0/8`, `::1` and `localhost`: addresses no other host can reach. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

function positive(value: number, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(field, `${field} must be a finite number > 0`);
  }
  return value;
}

function port(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw invalid(field, `${field} must be a port number`);
  return value;
}
