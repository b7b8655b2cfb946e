import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../errors.js';
import { readyStore } from './kit/store-lifecycle.js';
import type { TokenStore } from './kit/token-store.js';
import { STORE_URL_OPTIONS, splitStoreUrl, type StoreFamily, type StoreUrlOptions } from './kit/store-url-options.js';

/**
 * Options of `openStore`: `mustExist`, and the store options a URL may also carry in its query
 * (`table`, `schema`, `prefix`, … — each scheme takes its own, see {@link StoreUrlOptions}).
 */
export interface OpenStoreOptions extends StoreUrlOptions {
  /**
   * For readers: a `sqlite:` or `file:` store whose file does not exist fails with STORE_NOT_FOUND
   * instead of being created empty, so a mistyped path is reported. Other schemes ignore it.
   * @default false
   */
  mustExist?: boolean;
}

/** A scheme's opener gets the URL's path (local stores) or its driver URL (servers), and the store options. */
type Opener = (target: string, options: StoreUrlOptions, mustExist: boolean) => Promise<TokenStore>;

interface Scheme {
  readonly family: StoreFamily;
  /** Local stores take a path after `scheme:`; server stores the whole URL, for their driver. */
  readonly local: boolean;
  readonly open: Opener;
}

/** Each scheme loads its store module only when used, so unused drivers never load. */
const SCHEMES: Record<string, Scheme> = {
  memory: {
    family: 'memory',
    local: true,
    open: async (path) => {
      if (path !== '') throw badUrl('memory: takes no path');
      const { MemoryStore } = await import('./memory.js');
      return new MemoryStore();
    },
  },
  sqlite: {
    family: 'sqlite',
    local: true,
    open: async (path, options, mustExist) => {
      const filename = localPath(path, 'sqlite');
      const { SqliteStore } = await import('./sqlite/sqlite-store.js');
      return new SqliteStore({ ...options, filename, mustExist });
    },
  },
  file: {
    family: 'file',
    local: true,
    open: async (path, options, mustExist) => {
      const filename = localPath(path, 'file');
      // The FileStore reads a missing file as empty and creates nothing until a save; a token may
      // still sit only in its journal, not yet folded into the file.
      if (mustExist && !existsSync(filename) && !existsSync(`${filename}.journal`)) {
        throw new ZohoTokenError(
          ErrorCode.STORE_NOT_FOUND,
          `the token store ${JSON.stringify(resolve(filename))} does not exist (a store opened to read is not created)`,
        );
      }
      const { FileStore } = await import('./file/file-store.js');
      return new FileStore({ ...options, filename });
    },
  },
  postgres: { family: 'postgres', local: false, open: openPostgres },
  postgresql: { family: 'postgres', local: false, open: openPostgres },
  redis: { family: 'redis', local: false, open: openRedis },
  rediss: { family: 'redis', local: false, open: openRedis },
  'redis+cluster': { family: 'redis', local: false, open: openRedis },
  'rediss+cluster': { family: 'redis', local: false, open: openRedis },
  'redis+sentinel': { family: 'redis', local: false, open: openRedis },
  'rediss+sentinel': { family: 'redis', local: false, open: openRedis },
  mysql: { family: 'mysql', local: false, open: openMySql },
  mariadb: { family: 'mysql', local: false, open: openMySql },
};

async function openMySql(url: string, options: StoreUrlOptions): Promise<TokenStore> {
  const { MySqlStore } = await import('./mysql/mysql-store.js');
  return new MySqlStore({ ...options, url });
}

async function openPostgres(url: string, options: StoreUrlOptions): Promise<TokenStore> {
  const { PostgresStore } = await import('./postgres/postgres-store.js');
  return new PostgresStore({ ...options, url });
}

async function openRedis(url: string, options: StoreUrlOptions): Promise<TokenStore> {
  const { RedisStore } = await import('./redis/redis-store.js');
  return new RedisStore({ ...options, url });
}

/**
 * Every backend alike: constructed, then `ready()`, so a wrong URL, an unreachable server or a
 * missing table fails here (the store closed) rather than on the first token. A refused option
 * that came from the URL is reported as the URL's error.
 */
async function ready(open: () => Promise<TokenStore>, fromUrl: ReadonlySet<string>): Promise<TokenStore> {
  try {
    return await readyStore(await open());
  } catch (error) {
    throw urlError(error, fromUrl);
  }
}

/** A store that rejects its URL, or an option taken from it, says INVALID_ARGUMENT; through openStore it is an INVALID_STORE_URL. */
function urlError(error: unknown, fromUrl: ReadonlySet<string>): unknown {
  if (!isZohoTokenError(error, ErrorCode.INVALID_ARGUMENT) || error.field === undefined) return error;
  if (error.field === 'url') return badUrl(error.message);
  return fromUrl.has(error.field) ? badUrl(`?${error.field}=: ${error.message}`) : error;
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
  'redis+cluster://host1:6379,host2:6379',
  'redis+sentinel://host1:26379,host2:26379/mymaster/0',
  'sqlite:path.db?table=tokens',
  'postgres://user:password@host:5432/database?schema=zoho&table=tokens',
  'redis://host:6379/0?prefix=app%3A',
];

/**
 * Opens a store from a URL: `memory:`, `sqlite:path/to.db` (relative to the working directory),
 * `sqlite:/abs/path.db`, `sqlite:///abs/path.db`, `sqlite::memory:`, `file:path/to/sdk_tokens.txt` (the
 * official SDKs' token file), `postgres://…` (or
 * `postgresql://…`), `mysql://…` (or `mariadb://…`), `redis://…` / `rediss://…`, `redis+cluster://host:port,…` (Redis Cluster) and
 * `redis+sentinel://host:port,…/<master name>` (Sentinel), `rediss+…` with TLS. Server drivers load only when their scheme is used.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<TokenStore> {
  if (typeof url !== 'string') throw badUrl('The store URL must be a string');
  if (typeof options !== 'object' || options === null) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'options must be an object', { field: 'options' });
  }
  const { mustExist = false, ...given } = options;
  if (typeof mustExist !== 'boolean') {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'options.mustExist must be a boolean', { field: 'mustExist' });
  }
  const match = /^([a-z][a-z0-9+.-]*):(.*)$/is.exec(url);
  const name = match?.[1]?.toLowerCase();
  const scheme = name === undefined || !Object.hasOwn(SCHEMES, name) ? undefined : SCHEMES[name];
  if (scheme === undefined || name === undefined) {
    throw badUrl(
      `Unknown store URL scheme ${name ? JSON.stringify(`${name}:`) : '(none)'}; known: ${Object.keys(SCHEMES)
        .map((s) => `${s}:`)
        .join(', ')} (forms: ${STORE_URL_FORMS.join(', ')})`,
    );
  }
  const rest = match?.[2] ?? '';
  // A URL parser drops a #fragment while a split at "?" would keep it: one reading only.
  if (rest.includes('#')) throw badUrl('a store URL takes no #fragment (write # as %23)');
  const queryAt = rest.indexOf('?');
  const beforeQuery = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const split = splitStoreUrl(scheme.family, name, queryAt === -1 ? '' : rest.slice(queryAt + 1), given);
  if (scheme.local && split.driverQuery !== '') {
    const unknown = [...new URLSearchParams(split.driverQuery.slice(1)).keys()];
    throw badUrl(
      `unknown ${name}: URL parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `?${k}=`).join(', ')} ` +
        `(${name}: takes ${STORE_URL_OPTIONS[scheme.family].join(', ') || 'none'}; a ? in a file name is written %3F)`,
    );
  }
  const target = scheme.local ? beforeQuery : `${name}:${beforeQuery}${split.driverQuery}`;
  return ready(() => scheme.open(target, split.options, mustExist), split.fromUrl);
}

/**
 * The file of a `sqlite:` or `file:` store URL, without opening it (`zoho-tokens doctor` checks its
 * mode before the store tightens it); undefined for other schemes and `sqlite::memory:`.
 */
export function localStoreFile(url: string): { family: 'sqlite' | 'file'; filename: string } | undefined {
  const match = /^(sqlite|file):([^?]*)/is.exec(url);
  const family = match?.[1]?.toLowerCase();
  if (match === null || (family !== 'sqlite' && family !== 'file')) return undefined;
  const filename = localPath(match[2] ?? '', family);
  return filename === ':memory:' ? undefined : { family, filename };
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
