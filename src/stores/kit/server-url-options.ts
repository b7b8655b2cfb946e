import { existsSync } from 'node:fs';
import { ErrorCode, ZohoTokenError } from '../../errors.js';
import { STORE_OPTION_NAMES } from './store-url-options.js';

/**
 * The query options of server store URLs, checked before a driver sees them. Unchecked, a bad value
 * is thrown later as a TypeError (mysql2: `?ssl=notjson`), silently ignored (pg:
 * `?connect_timeout=abc`), misread (pg reads `?ssl=false` as TLS on) or crashes the process
 * (ioredis selects database `NaN` for `/abc`). Each check throws INVALID_ARGUMENT on `url`, which
 * `openStore` reports as INVALID_STORE_URL. Messages name the option, never its value (a password
 * may sit in any of them).
 */

const MAX_REDIS_DB = 2 ** 31 - 1;

function bad(message: string): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, message, { field: 'url' });
}

const isCount = (value: string): boolean => /^\d{1,15}$/.test(value);

/** How mysql2 reads a query value: JSON when it parses, else the string. */
function mysqlValue(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

type MySqlKind = 'boolean' | 'count' | 'string' | 'object' | 'any';

/** The mysql2 connection and pool options a URL can carry, by the type mysql2 expects. */
const MYSQL_OPTIONS: Readonly<Record<string, MySqlKind>> = {
  bigNumberStrings: 'boolean',
  compress: 'boolean',
  decimalNumbers: 'boolean',
  enableKeepAlive: 'boolean',
  insecureAuth: 'boolean',
  multipleStatements: 'boolean',
  namedPlaceholders: 'boolean',
  rowsAsArray: 'boolean',
  supportBigNumbers: 'boolean',
  stringifyObjects: 'boolean',
  trace: 'boolean',
  disableEval: 'boolean',
  enableCleartextPlugin: 'boolean',
  jsonStrings: 'boolean',
  waitForConnections: 'boolean',
  resetOnRelease: 'boolean',
  gracefulEnd: 'boolean',
  connectTimeout: 'count',
  keepAliveInitialDelay: 'count',
  maxPreparedStatements: 'count',
  charsetNumber: 'count',
  maxIdle: 'count',
  idleTimeout: 'count',
  queueLimit: 'count',
  connectionLimit: 'count',
  charset: 'string',
  timezone: 'string',
  localAddress: 'string',
  socketPath: 'string',
  connectAttributes: 'object',
  // ssl: a profile name or a JSON object; mysql2 itself rejects an unknown profile (see MySqlStore).
  ssl: 'any',
  dateStrings: 'any',
  debug: 'any',
  flags: 'any',
  nestTables: 'any',
  password1: 'any',
  password2: 'any',
  password3: 'any',
  passwordSha1: 'any',
};

/** mysql2 takes these from the URL itself and ignores them in the query: a silent surprise. */
const MYSQL_URL_PARTS = new Set(['host', 'port', 'database', 'user', 'password']);

/**
 * A parameter the driver does not read would be silently ignored: refused, and a store option
 * (`?table=`) given to a store's own `url` points to where it belongs.
 */
function unknownParameter(driver: string, key: string, known: readonly string[], url: URL): ZohoTokenError {
  if (STORE_OPTION_NAMES.has(key)) {
    return bad(`url: ?${key}= is a store option: give it as the ${key} option, or open the store with openStore(url)`);
  }
  // An unencoded & or ? in a password splits it, and its tail would look like a parameter name.
  if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(key) || url.searchParams.has('password')) {
    return bad(
      `url: an unknown ${driver} option in the query (not named: it may be part of a password; percent-encode & ? # in a password) (known: ${known.join(', ')})`,
    );
  }
  return bad(`url: unknown ${driver} option ?${key}= (known: ${known.join(', ')})`);
}

/** A fragment is dropped by the drivers' URL parsers, silently changing what a URL says. */
function refuseFragment(url: URL): void {
  if (url.hash !== '') throw bad('url: a store URL takes no #fragment (write # as %23)');
}

/** Checks the query of a `mysql://` URL (already parsed by the caller). */
export function checkMySqlUrlOptions(url: URL): void {
  refuseFragment(url);
  for (const [key, raw] of url.searchParams) {
    if (MYSQL_URL_PARTS.has(key))
      throw bad(`url: give the ${key} in the URL itself (mysql://user:password@host:port/database), not as ?${key}=`);
    const kind = Object.hasOwn(MYSQL_OPTIONS, key) ? MYSQL_OPTIONS[key] : undefined;
    if (kind === undefined) throw unknownParameter('mysql2', key, Object.keys(MYSQL_OPTIONS), url);
    const value = mysqlValue(raw);
    const ok =
      kind === 'any' ||
      (kind === 'boolean' && typeof value === 'boolean') ||
      (kind === 'count' && typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
      (kind === 'string' && raw !== '') ||
      (kind === 'object' && typeof value === 'object' && value !== null);
    if (!ok) throw bad(`url: ?${key}= must be ${DESCRIBE_KIND[kind]}`);
  }
}

const DESCRIBE_KIND: Record<MySqlKind, string> = {
  boolean: 'true or false',
  count: 'a non-negative integer',
  string: 'a non-empty string',
  object: 'a JSON object',
  any: 'a value',
};

const PG_SSLMODES = new Set(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify']);
const PG_COUNTS = [
  'port',
  'connect_timeout',
  'keepalives',
  'keepalives_idle',
  'statement_timeout',
  'query_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
];
const PG_FILES = ['sslcert', 'sslkey', 'sslrootcert'];
/** Every query parameter pg (pg-connection-string 2.x and pg 8's connection parameters) reads. */
const PG_PARAMETERS = [
  ...PG_COUNTS,
  ...PG_FILES,
  'host',
  'user',
  'password',
  'database',
  'db',
  'encoding',
  'client_encoding',
  'ssl',
  'sslmode',
  'sslnegotiation',
  'uselibpqcompat',
  'options',
  'replication',
  'application_name',
  'fallback_application_name',
  'binary',
];

/** Checks a `postgres://` URL as pg will read it (pg-connection-string); `url` is the raw string. */
export function checkPostgresUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // pg also accepts `postgres://user@/db?host=/socket/dir`, which WHATWG URL refuses as such.
    try {
      parsed = new URL(url.replace('@/', '@dummy/'));
    } catch {
      throw bad('url is not a valid URL (expected postgres://user:password@host:port/database)');
    }
  }
  const query = parsed.searchParams;
  refuseFragment(parsed);
  for (const key of query.keys()) {
    if (!PG_PARAMETERS.includes(key)) throw unknownParameter('pg', key, PG_PARAMETERS, parsed);
  }
  const sslmode = query.get('sslmode');
  if (sslmode !== null && !PG_SSLMODES.has(sslmode))
    throw bad(`url: ?sslmode= must be one of ${[...PG_SSLMODES].join(', ')}`);
  const ssl = query.get('ssl');
  if (ssl === 'false') throw bad('url: pg reads ?ssl=false as TLS on: use ?ssl=0 or ?sslmode=disable');
  if (ssl !== null && !['true', '1', '0'].includes(ssl))
    throw bad('url: ?ssl= must be true, 1 or 0 (or use ?sslmode=)');
  for (const key of PG_COUNTS) {
    const value = query.get(key);
    if (value !== null && !isCount(value)) throw bad(`url: ?${key}= must be a non-negative integer`);
  }
  for (const key of PG_FILES) {
    const path = query.get(key);
    // pg reads these files on every connect: a missing one is a configuration error, not an outage.
    if (path !== null && !existsSync(path)) throw bad(`url: the ?${key}= file does not exist`);
  }
}

/** The ioredis options a URL may set as text (ioredis passes every parameter on as an option). */
const REDIS_PARAMETERS = ['db', 'family', 'port', 'username', 'password', 'connectionName', 'tls'];

/**
 * Checks a `redis://` or `rediss://` URL as ioredis will read it and returns its database number:
 * the path (`/3`), else `?db=`, else 0.
 */
export function checkRedisUrl(url: string): number {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad('url is not a valid redis:// or rediss:// URL');
  }
  const database = (text: string, where: string): number => {
    const db = isCount(text) ? Number(text) : NaN;
    if (!(db <= MAX_REDIS_DB)) throw bad(`url: the database ${where} must be a number from 0 (redis://host:6379/0)`);
    return db;
  };
  const query = parsed.searchParams;
  refuseFragment(parsed);
  for (const key of query.keys()) {
    // ioredis turns every query parameter into a client option: a keyPrefix would hide the store's keys.
    if (key === 'keyPrefix') throw bad('url: ?keyPrefix= is not supported: the store names its keys with ?prefix=');
    if (!REDIS_PARAMETERS.includes(key)) throw unknownParameter('ioredis', key, REDIS_PARAMETERS, parsed);
  }
  const family = query.get('family');
  if (family !== null && !['0', '4', '6'].includes(family)) throw bad('url: ?family= must be 4, 6 or 0');
  const port = query.get('port');
  if (port !== null && !(isCount(port) && Number(port) <= 65535)) throw bad('url: ?port= must be a port number');
  const queryDb = query.get('db');
  if (queryDb !== null) database(queryDb, '(?db=)');
  if (parsed.pathname !== '' && parsed.pathname !== '/') return database(parsed.pathname.slice(1), '(the path)');
  return queryDb === null ? 0 : database(queryDb, '(?db=)');
}
