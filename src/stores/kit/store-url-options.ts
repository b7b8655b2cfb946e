import { ErrorCode, ZohoTokenError } from '../../errors.js';

/**
 * The store options a store URL may carry in its query (`postgres://…/db?table=tokens&schema=zoho`),
 * and that `openStore(url, options)` takes as properties. Each applies to the schemes listed in
 * its description; any other query parameter must be one the scheme's driver reads, else the URL
 * is refused (INVALID_STORE_URL), never silently ignored.
 */
export interface StoreUrlOptions {
  /** Table of the tokens (`sqlite:`, `postgres:`, `mysql:`). */
  table?: string;
  /** PostgreSQL schema of the table (`postgres:`). */
  schema?: string;
  /** Whether the store may create its table (`postgres:`, `mysql:`); `false` expects it to exist. */
  createTable?: boolean;
  /** Most connections of the store's own pool (`postgres:`, `mysql:`). */
  poolSize?: number;
  /** Connect time limit in ms (`postgres:`). */
  connectTimeoutMs?: number;
  /** Start of every key (`redis:`, `rediss:`). */
  prefix?: string;
  /** Time limit of one store call in ms (`redis:`, `rediss:`). */
  timeoutMs?: number;
  /** SQLite driver: `node:sqlite` (built in) or `better-sqlite3` (`sqlite:`). */
  driver?: 'node:sqlite' | 'better-sqlite3';
  /** Wait for another connection's write lock, in ms (`sqlite:`). */
  busyTimeoutMs?: number;
  /** SQLite `synchronous` level: `NORMAL`, `FULL` or `EXTRA` (`sqlite:`). */
  synchronous?: 'NORMAL' | 'FULL' | 'EXTRA';
  /** Token file layout: `typescript` or `python` SDK (`file:`). */
  format?: 'typescript' | 'python';
  /** Whether writes are fsynced (`file:`). */
  fsync?: boolean;
  /** Delay before the journal is folded into the file, in ms (`file:`). */
  compactDelayMs?: number;
  /** Whether a directory watch reports other processes' writes (`file:`). */
  watch?: boolean;
  /** Age after which another host's file lock is taken over, in ms (`file:`). */
  lockStaleMs?: number;
  /** Longest wait for the file lock, in ms (`file:`). */
  lockWaitMs?: number;
}

type Kind = 'string' | 'count' | 'boolean' | readonly string[];

const KINDS: { readonly [K in keyof Required<StoreUrlOptions>]: Kind } = {
  table: 'string',
  schema: 'string',
  createTable: 'boolean',
  poolSize: 'count',
  connectTimeoutMs: 'count',
  prefix: 'string',
  timeoutMs: 'count',
  driver: ['node:sqlite', 'better-sqlite3'],
  busyTimeoutMs: 'count',
  synchronous: ['NORMAL', 'FULL', 'EXTRA'],
  format: ['typescript', 'python'],
  fsync: 'boolean',
  compactDelayMs: 'count',
  watch: 'boolean',
  lockStaleMs: 'count',
  lockWaitMs: 'count',
};

/** The names of every store option, whichever backend takes it. */
export const STORE_OPTION_NAMES: ReadonlySet<string> = new Set(Object.keys(KINDS));

/** Which store options each family of schemes takes. */
export const STORE_URL_OPTIONS = {
  memory: [],
  sqlite: ['table', 'driver', 'busyTimeoutMs', 'synchronous'],
  file: ['format', 'fsync', 'compactDelayMs', 'watch', 'lockStaleMs', 'lockWaitMs'],
  postgres: ['table', 'schema', 'createTable', 'poolSize', 'connectTimeoutMs'],
  mysql: ['table', 'createTable', 'poolSize'],
  redis: ['prefix', 'timeoutMs'],
} as const satisfies Record<string, readonly (keyof StoreUrlOptions)[]>;

export type StoreFamily = keyof typeof STORE_URL_OPTIONS;

/** What a store URL's query holds once the store options are taken out of it. */
export interface SplitStoreUrl {
  /** The store options, typed, from the query and from `openStore`'s options. */
  readonly options: StoreUrlOptions;
  /** The names of those that came from the URL: an error about one of them is a URL error. */
  readonly fromUrl: ReadonlySet<string>;
  /** The query left for the driver, without the store options (`''` or `?…`). */
  readonly driverQuery: string;
}

function badUrl(message: string): ZohoTokenError {
  // A store URL may carry a password: messages name parameters, never values.
  return new ZohoTokenError(ErrorCode.INVALID_STORE_URL, message, { field: 'url' });
}

function fromText(name: keyof StoreUrlOptions, text: string): unknown {
  const kind = KINDS[name];
  if (kind === 'string') {
    if (text === '') throw badUrl(`?${name}= must not be empty`);
    return text;
  }
  if (kind === 'count') {
    if (!/^\d{1,15}$/.test(text)) throw badUrl(`?${name}= must be a non-negative integer`);
    return Number(text);
  }
  if (kind === 'boolean') {
    if (text !== 'true' && text !== 'false') throw badUrl(`?${name}= must be true or false`);
    return text === 'true';
  }
  if (!kind.includes(text)) throw badUrl(`?${name}= must be one of ${kind.join(', ')}`);
  return text;
}

function checkValue(name: keyof StoreUrlOptions, value: unknown): void {
  const kind = KINDS[name];
  const ok =
    kind === 'string'
      ? typeof value === 'string'
      : kind === 'count'
        ? typeof value === 'number'
        : kind === 'boolean'
          ? typeof value === 'boolean'
          : typeof value === 'string' && kind.includes(value);
  if (!ok) {
    const expected =
      typeof kind === 'string'
        ? { string: 'a string', count: 'a number', boolean: 'true or false' }[kind]
        : kind.join(', ');
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `options.${name} must be ${expected}`, { field: name });
  }
}

/**
 * Takes the store options out of a URL's query (`query` without its `?`) and merges those given
 * as `openStore` options. A store option of another backend, a repeated parameter, or one given
 * both ways is refused; the driver's own parameters are left in `driverQuery` for it to check.
 */
export function splitStoreUrl(
  family: StoreFamily,
  scheme: string,
  query: string,
  given: Readonly<Record<string, unknown>>,
): SplitStoreUrl {
  const allowed: readonly string[] = STORE_URL_OPTIONS[family];
  const options: Record<string, unknown> = {};
  const fromUrl = new Set<string>();
  const driver = new URLSearchParams();
  const seen = new Set<string>();
  for (const [name, text] of new URLSearchParams(query)) {
    if (seen.has(name)) throw badUrl(`?${name}= is given more than once`);
    seen.add(name);
    if (allowed.includes(name)) {
      options[name] = fromText(name as keyof StoreUrlOptions, text);
      fromUrl.add(name);
    } else if (STORE_OPTION_NAMES.has(name)) {
      throw badUrl(`?${name}= does not apply to ${scheme}: stores (they take: ${list(allowed)})`);
    } else {
      driver.append(name, text);
    }
  }
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (!allowed.includes(name)) {
      throw new ZohoTokenError(
        ErrorCode.INVALID_ARGUMENT,
        `options.${name} does not apply to ${scheme}: stores (they take: ${list(allowed)})`,
        { field: name },
      );
    }
    if (fromUrl.has(name)) {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `${name} is given both in the URL and in options`, {
        field: name,
      });
    }
    checkValue(name as keyof StoreUrlOptions, value);
    options[name] = value;
  }
  const rest = driver.toString();
  return { options: options as StoreUrlOptions, fromUrl, driverQuery: rest === '' ? '' : `?${rest}` };
}

const list = (names: readonly string[]): string => (names.length === 0 ? 'none' : names.join(', '));
