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
  /** The data center the client is registered in. @default the emulator's default data center */
  readonly dc?: string;
  /** The application's name, shown on the consent page. @default the client id */
  readonly name?: string;
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
  /**
   * Test users (emails) the consent page's account chooser offers, besides `login_hint` and
   * `defaultUser`; "Use another account" is always there too. @default []
   */
  readonly users?: readonly string[];
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
  readonly users: readonly string[];
  readonly companyName: string;
  readonly maxBodyBytes: number;
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
  return {
    host: options.host ?? '127.0.0.1',
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
    users: users(options.users ?? []),
    companyName: options.companyName ?? 'Emulated Org',
    maxBodyBytes: positive(options.maxBodyBytes ?? 1_048_576, 'maxBodyBytes'),
  };
}

function users(value: readonly string[]): readonly string[] {
  if (!Array.isArray(value) || !value.every((u) => typeof u === 'string' && /^[^\s@]+@[^\s@]+$/.test(u)))
    throw invalid('users', 'users must be a list of emails');
  return Object.freeze([...new Set(value)]);
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
