import { readFile } from 'node:fs/promises';
import { ErrorCode, ZohoTokenError } from '../errors.js';
import { parseAdminTime } from './admin-time.js';
import { invalid } from './invalid-argument.js';
import type { EmulatorClient, EmulatorLimits, EmulatorUser, ZohoEmulatorOptions } from './options.js';

type Json = Record<string, unknown>;
type Check = (value: unknown, field: string) => unknown;

const str: Check = (v, f) => {
  if (typeof v !== 'string' || v === '') throw invalid(f, `${f} must be a non-empty string`);
  return v;
};
const num: Check = (v, f) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(f, `${f} must be a number`);
  return v;
};
const bool: Check = (v, f) => {
  if (typeof v !== 'boolean') throw invalid(f, `${f} must be true or false`);
  return v;
};
const list =
  (item: Check): Check =>
  (v, f) => {
    if (!Array.isArray(v)) throw invalid(f, `${f} must be a list`);
    return v.map((x, i) => item(x, `${f}[${i}]`));
  };
const oneOf =
  (...allowed: string[]): Check =>
  (v, f) => {
    if (typeof v !== 'string' || !allowed.includes(v))
      throw invalid(f, `${f} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
    return v;
  };
const record =
  (item: Check): Check =>
  (v, f) =>
    Object.fromEntries(Object.entries(object(v, f)).map(([k, x]) => [k, item(x, `${f}.${k}`)]));

/** An object with only the listed keys, each checked; missing keys stay missing. */
const shape =
  (fields: Record<string, Check>): Check =>
  (v, f) => {
    const input = object(v, f);
    const out: Json = {};
    for (const [key, value] of Object.entries(input)) {
      const at = f === '' ? key : `${f}.${key}`;
      const check = fields[key];
      if (check === undefined) throw invalid(at, `unknown setting "${at}" (known: ${Object.keys(fields).join(', ')})`);
      out[key] = check(value, at);
    }
    return out;
  };

function object(v: unknown, f: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw invalid(f || 'config', `${f || 'the config'} must be a JSON object`);
  return v as Json;
}

const client = shape({
  clientId: str,
  clientSecret: str,
  redirectUris: list(str),
  dc: str,
  dataCenters: list(str),
});

/** `"ana@example.com"` or `{"email": …, "dataCenters": [...]}`. */
const user: Check = (v, f) =>
  typeof v === 'string' ? { email: str(v, f) } : shape({ email: str, dataCenters: list(str) })(v, f);

const limits = shape({
  mintsPerWindow: num,
  mintWindowMs: num,
  liveAccessTokensPerRefreshToken: num,
  refreshTokensPerUserClient: num,
  grantCodesPerWindow: num,
  grantCodeWindowMs: num,
});

const CONFIG = shape({
  $schema: str, // editors' JSON-schema hint; ignored
  host: str,
  port: num,
  ports: record(num),
  dataCenters: list(str),
  defaultDataCenter: str,
  clock: oneOf('real', 'manual'),
  startTime: (v, f) => parseAdminTime(v, f),
  clients: list(client),
  users: list(user),
  autoApprove: str,
  defaultUser: str,
  accessTokenLifetimeSec: num,
  codeLifetimeMs: num,
  selfClientCodeLifetimeMs: num,
  limits,
  legacyExpiresInSec: bool,
  refreshTokenOnEveryConsent: bool,
  deadTokenError: oneOf('INVALID_TOKEN', 'AUTHENTICATION_FAILURE'),
  throttleDescription: str,
  companyName: str,
  maxBodyBytes: num,
});

/**
 * The standalone emulator's config file, as JSON (see docs/emulator.md for every key). Keys match
 * {@link ZohoEmulatorOptions}, except `startTime` (epoch ms or ISO date-time; the option `now`) and
 * `autoApprove` (the user's email). The admin token is never read from the file: pass it by flag
 * or environment, so the file can be committed.
 */
export interface EmulatorConfigFile {
  readonly host?: string;
  readonly port?: number;
  readonly ports?: Readonly<Record<string, number>>;
  readonly dataCenters?: readonly string[];
  readonly defaultDataCenter?: string;
  readonly clock?: 'real' | 'manual';
  readonly startTime?: number | string;
  readonly clients?: readonly EmulatorClient[];
  readonly users?: readonly (string | EmulatorUser)[];
  readonly autoApprove?: string;
  readonly defaultUser?: string;
  readonly accessTokenLifetimeSec?: number;
  readonly codeLifetimeMs?: number;
  readonly selfClientCodeLifetimeMs?: number;
  readonly limits?: EmulatorLimits;
  readonly legacyExpiresInSec?: boolean;
  readonly refreshTokenOnEveryConsent?: boolean;
  readonly deadTokenError?: 'INVALID_TOKEN' | 'AUTHENTICATION_FAILURE';
  readonly throttleDescription?: string;
  readonly companyName?: string;
  readonly maxBodyBytes?: number;
}

/**
 * Checks a parsed config document and turns it into emulator options. Shapes and types are checked
 * here (an unknown key is an error, not ignored: a typo must not silently change nothing); value
 * ranges are checked by {@link startZohoEmulator}, with the same field names.
 *
 * @throws `ZohoTokenError` `INVALID_ARGUMENT` whose `field` is the path of the bad setting, e.g.
 *   `clients[0].redirectUris[1]`.
 */
export function parseEmulatorConfig(document: unknown): ZohoEmulatorOptions {
  const config = CONFIG(document, '') as EmulatorConfigFile & { startTime?: number; $schema?: string };
  const { startTime, autoApprove, users, $schema: _schema, ...rest } = config;
  return {
    ...rest,
    ...(startTime === undefined ? {} : { now: startTime }),
    ...(autoApprove === undefined ? {} : { autoApprove: { user: autoApprove } }),
    ...(users === undefined ? {} : { users: users.map((u) => (typeof u === 'string' ? { email: u } : u)) }),
  };
}

/**
 * Reads and checks a JSON config file (see {@link parseEmulatorConfig}).
 *
 * @throws `ZohoTokenError` `INVALID_ARGUMENT` (field `config`) when the file cannot be read or is
 *   not JSON, or (field = the setting's path) when a setting is wrong.
 */
export async function loadEmulatorConfig(path: string): Promise<ZohoEmulatorOptions> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `cannot read config file ${path} (${code})`, {
      field: 'config',
    });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    // Only the position: V8's message quotes the text around it, which may hold a client secret.
    const at = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      `config file ${path} is not valid JSON${at === undefined ? '' : ` (at character ${at})`}`,
      { field: 'config' },
    );
  }
  try {
    return parseEmulatorConfig(document);
  } catch (error) {
    if (error instanceof ZohoTokenError)
      throw new ZohoTokenError(error.code, `config file ${path}: ${error.message}`, {
        ...(error.field === undefined ? {} : { field: error.field }),
      });
    throw error;
  }
}
