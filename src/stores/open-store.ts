import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../errors.js';
import { readyStore } from './kit/store-lifecycle.js';
import type { TokenStore } from './kit/token-store.js';

export interface OpenStoreOptions {
  /**
   * For readers: a `sqlite:` or `file:` store whose file does not exist fails with STORE_NOT_FOUND
   * instead of being created empty, so a mistyped path is reported. Other schemes ignore it.
   * @default false
   */
  mustExist?: boolean;
}

type Opener = (rest: string, url: string, options: OpenStoreOptions) => Promise<TokenStore>;

/** Each scheme loads its store module only when used, so unused drivers never load. */
const OPENERS: Record<string, Opener> = {
  memory: async (rest) => {
    if (rest !== '') throw badUrl('memory: takes no path');
    const { MemoryStore } = await import('./memory.js');
    return ready(() => new MemoryStore());
  },
  sqlite: async (rest, _url, { mustExist = false }) => {
    const filename = localPath(rest, 'sqlite');
    const { SqliteStore } = await import('./sqlite/sqlite-store.js');
    return ready(() => new SqliteStore({ filename, mustExist }));
  },
  file: async (rest, _url, { mustExist = false }) => {
    const filename = localPath(rest, 'file');
    // The FileStore reads a missing file as empty and creates nothing until a save; a token may
    // still sit only in its journal, not yet folded into the file.
    if (mustExist && !existsSync(filename) && !existsSync(`${filename}.journal`)) {
      throw new ZohoTokenError(
        ErrorCode.STORE_NOT_FOUND,
        `the token store ${JSON.stringify(resolve(filename))} does not exist (a store opened to read is not created)`,
      );
    }
    const { FileStore } = await import('./file/file-store.js');
    return ready(() => new FileStore({ filename }));
  },
  postgres: openPostgres,
  postgresql: openPostgres,
  redis: openRedis,
  rediss: openRedis,
  mysql: openMySql,
  mariadb: openMySql,
};

async function openMySql(_rest: string, url: string): Promise<TokenStore> {
  const { MySqlStore } = await import('./mysql/mysql-store.js');
  return ready(() => new MySqlStore({ url }));
}

async function openPostgres(_rest: string, url: string): Promise<TokenStore> {
  const { PostgresStore } = await import('./postgres/postgres-store.js');
  return ready(() => new PostgresStore({ url }));
}

async function openRedis(_rest: string, url: string): Promise<TokenStore> {
  const { RedisStore } = await import('./redis/redis-store.js');
  return ready(() => new RedisStore({ url }));
}

/**
 * Every backend alike: constructed, then `ready()`, so a wrong URL, an unreachable server or a
 * missing table fails here (the store closed) rather than on the first token.
 */
async function ready(open: () => TokenStore): Promise<TokenStore> {
  try {
    return await readyStore(open());
  } catch (error) {
    throw urlError(error);
  }
}

/** A store that rejects its URL says INVALID_ARGUMENT; through openStore it is an INVALID_STORE_URL. */
function urlError(error: unknown): unknown {
  return isZohoTokenError(error, ErrorCode.INVALID_ARGUMENT) && error.field === 'url' ? badUrl(error.message) : error;
}

/** The URL forms `openStore` accepts. */
export const STORE_URL_FORMS = [
  'memory:',
  'sqlite:path/to/file.db',
  'sqlite:/absolute/path.db',
  'sqlite::memory:',
  'file:path/to/sdk_tokens.txt',
  'file:/absolute/sdk_tokens.txt',
  'postgres://user:password@host:5432/database',
  'mysql://user:password@host:3306/database',
  'redis://host:6379/0',
  'rediss://host:6380/0',
];

/**
 * Opens a store from a URL: `memory:`, `sqlite:path/to.db` (relative to the working directory),
 * `sqlite:/abs/path.db`, `sqlite:///abs/path.db`, `sqlite::memory:`, `file:path/to/sdk_tokens.txt` (the
 * official SDKs' token file), `postgres://…` (or
 * `postgresql://…`), `mysql://…` (or `mariadb://…`), `redis://…` / `rediss://…`. Server drivers load only when their scheme is used.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<TokenStore> {
  if (typeof url !== 'string') throw badUrl('The store URL must be a string');
  if (
    typeof options !== 'object' ||
    options === null ||
    (options.mustExist !== undefined && typeof options.mustExist !== 'boolean')
  ) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'options.mustExist must be a boolean', { field: 'mustExist' });
  }
  const match = /^([a-z][a-z0-9+.-]*):(.*)$/is.exec(url);
  const scheme = match?.[1]?.toLowerCase();
  const opener = scheme === undefined ? undefined : OPENERS[scheme];
  if (!opener) {
    throw badUrl(
      `Unknown store URL scheme ${scheme ? JSON.stringify(`${scheme}:`) : '(none)'}; known: ${Object.keys(OPENERS)
        .map((s) => `${s}:`)
        .join(', ')} (forms: ${STORE_URL_FORMS.join(', ')})`,
    );
  }
  return opener(match?.[2] ?? '', url, options);
}

/** The path of a `sqlite:` or `file:` URL: `x:///abs` → `/abs`; `x://host/…` names a host, which a local file has no use for. */
function localPath(rest: string, scheme: 'sqlite' | 'file'): string {
  let path = rest;
  if (path.startsWith('//')) {
    if (!path.startsWith('///')) throw badUrl(`${scheme}://host/… is not supported: use ${scheme}:/absolute/path`);
    path = path.slice(2);
  }
  if (path === '') throw badUrl(`${scheme}: needs a file path${scheme === 'sqlite' ? ' or :memory:' : ''}`);
  try {
    return decodeURIComponent(path);
  } catch {
    throw badUrl(`${scheme}: path has a malformed %-escape`);
  }
}

function badUrl(message: string): ZohoTokenError {
  // Store URLs may carry passwords: never echo the URL itself.
  return new ZohoTokenError(ErrorCode.INVALID_STORE_URL, message, { field: 'url' });
}
