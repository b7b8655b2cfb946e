import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../../errors.js';
import { sanitizeCause } from '../../redact.js';
import { SECRET_FIELDS, type OAuthToken } from '../../token/oauth-token.js';
import { tokenFromRecord, type TokenRecord } from '../../token/token-record.js';
import { loadDriver } from '../kit/load-driver.js';
import {
  checkId,
  findMatch,
  nextId,
  numericId,
  planSaveAsync,
  snapshotToken,
  type LookupValues,
} from '../kit/matching.js';
import { PostgresLock } from './postgres-lock.js';
import { checkPostgresUrl } from '../kit/server-url-options.js';
import { COLUMNS, checkTableName, recordToRow, rowToRecord } from '../kit/columns.js';
import type { TokenStore } from '../kit/token-store.js';

const STORE_NAME = 'PostgresStore';

/** The result of a query, as `pg` returns it. */
export interface PostgresQueryResult {
  rows: Record<string, unknown>[];
  rowCount: number | null;
}

/** A connection checked out of a pool: the part of `pg`'s `PoolClient` the store uses. */
export interface PostgresPoolClient {
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>;
  /** `release(true)` destroys the connection instead of returning it to the pool. */
  release(destroy?: boolean): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * A connection pool: the part of `pg`'s `Pool` the store uses, typed structurally so that `pg` is
 * only loaded (at run time) when the store builds its own pool from a URL.
 */
export interface PostgresPool {
  connect(): Promise<PostgresPoolClient>;
}

export interface PostgresStoreOptions {
  /**
   * `postgres://user:password@host:port/database?options` (or `postgresql://…`), any form the `pg`
   * package accepts. The store builds its own pool from it and ends that pool in `close()`.
   * Give either `url` or `pool`.
   * @default undefined
   */
  url?: string;
  /**
   * A `pg.Pool` you built yourself. The store checks connections out of it and never ends it;
   * `url`, `poolSize` and `connectTimeoutMs` are then ignored. Attach your own `'error'` listener
   * to it: `pg` pools emit one when an idle connection drops.
   * @default undefined
   */
  pool?: PostgresPool;
  /**
   * Table name: letters, digits and underscores, at most 49 characters (so that the names of its
   * indexes and side tables fit PostgreSQL's 63). Quoted, so case-sensitive. The official SDKs' is
   * `oauthtoken`.
   * @default 'oauthtoken'
   */
  table?: string;
  /**
   * Schema of the table (it must exist). Same alphabet as `table`.
   * @default undefined (the connection's `search_path`, usually `public`)
   */
  schema?: string;
  /**
   * Create the table, its indexes and side tables on first use when missing. Turn it off when the
   * database user may not run DDL; create them beforehand (docs/stores/postgres.md has the SQL).
   * @default true
   */
  createTable?: boolean;
  /**
   * Most connections the store's own pool opens (with `url`).
   * @default 10
   */
  poolSize?: number;
  /**
   * How long opening a connection of the store's own pool may take, in ms (0: no limit).
   * @default 10000
   */
  connectTimeoutMs?: number;
}

/** The pool the store builds from a URL: it also ends, and reports idle connections that drop. */
interface OwnPool extends PostgresPool {
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

interface PgModule {
  Pool: new (config: { connectionString: string; max: number; connectionTimeoutMillis: number }) => OwnPool;
}

const INDEX_SUFFIXES = ['_refresh_token', '_grant_token', '_client_user', '_access_token', '_id_number'];
/** Suffixes added to the table name; the result must fit PostgreSQL's 63, or names would collide. */
const NAME_SUFFIXES = [...INDEX_SUFFIXES, '_meta', '_lock'];
const MAX_NAME = 63;
const MAX_TABLE = MAX_NAME - Math.max(...NAME_SUFFIXES.map((s) => s.length));
const SAVE_ATTEMPTS = 6;
/** Unique violation, serialization failure, deadlock: a concurrent writer won; plan again. */
const RETRYABLE = new Set(['23505', '40001', '40P01']);
/** Duplicate object or type on concurrent CREATE by a creator that does not take our DDL lock. */
const DDL_RACE = new Set(['23505', '42P07', '42710']);
/** The advisory-lock class of this package (first key of the two-key form): "ZTS" + 0. */
const ADVISORY_CLASS = 0x5a545300;

/**
 * Token store in PostgreSQL (9.6 or later), for fleets: every process shares one table. Each save
 * is one transaction on one pooled connection: it locks its candidate rows (`SELECT … FOR UPDATE`),
 * plans with the shared matching rules, then updates or inserts (`ON CONFLICT DO NOTHING`); unique
 * indexes make a lost race visible, and the save then plans again. New ids come from the largest
 * numeric id and a never-decreasing high-water mark, under a row lock that serializes inserters.
 * The schema is created on first use (or by `ready()`).
 */
export class PostgresStore implements TokenStore {
  readonly table: string;
  readonly schema: string | undefined;
  readonly lock: PostgresLock;
  readonly #pool: PostgresPool;
  readonly #ownPool: OwnPool | undefined;
  readonly #createTable: boolean;
  readonly #sql: ReturnType<typeof statements>;
  /** Scrubbed from every driver error: the URL's password. */
  readonly #urlSecrets: string[];
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(options: PostgresStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `${STORE_NAME} needs an options object with url or pool`, {
        field: 'options',
      });
    }
    this.table = checkName(options.table ?? 'oauthtoken', 'table', MAX_TABLE);
    this.schema = options.schema === undefined ? undefined : checkName(options.schema, 'schema', MAX_NAME);
    this.#createTable = options.createTable ?? true;
    if (typeof this.#createTable !== 'boolean') throw invalid('createTable', 'createTable must be true or false');
    const poolSize = options.poolSize ?? 10;
    if (!Number.isSafeInteger(poolSize) || poolSize < 1)
      throw invalid('poolSize', 'poolSize must be a positive integer');
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    if (!Number.isSafeInteger(connectTimeoutMs) || connectTimeoutMs < 0) {
      throw invalid('connectTimeoutMs', 'connectTimeoutMs must be a non-negative integer');
    }
    this.#sql = statements(this.table, this.schema);
    if (options.pool !== undefined) {
      if (options.url !== undefined) throw invalid('url', 'Give either url or pool, not both');
      if (typeof options.pool?.connect !== 'function')
        throw invalid('pool', 'pool must be a pg.Pool (or have its connect())');
      this.#pool = options.pool;
      this.#urlSecrets = [];
    } else {
      // Never echo the URL: it may carry a password.
      if (typeof options.url !== 'string' || !/^postgres(?:ql)?:\/\//i.test(options.url)) {
        throw invalid('url', `${STORE_NAME} needs url (postgres://… or postgresql://…) or pool`);
      }
      checkPostgresUrl(options.url);
      this.#urlSecrets = passwordOf(options.url);
      const { Pool } = loadDriver<PgModule>('pg', STORE_NAME, 'your own pool as the `pool` option');
      try {
        this.#ownPool = new Pool({
          connectionString: options.url,
          max: poolSize,
          connectionTimeoutMillis: connectTimeoutMs,
        });
      } catch (error) {
        throw storeError('cannot create the connection pool', error, this.#urlSecrets);
      }
      // An idle connection that drops (server restart, terminated backend) is discarded by the
      // pool, which then emits 'error': without a listener that would crash the process.
      this.#ownPool.on('error', () => {});
      this.#pool = this.#ownPool;
    }
    this.lock = new PostgresLock(this.#sql.lockTable, (text, values, secrets) => this.#run(text, values, secrets));
  }

  /**
   * Creates the schema if needed (unless `createTable` is false) and checks the connection, so
   * that a misconfiguration shows at start-up rather than on the first token. Optional: every
   * other method does it on first use.
   */
  async ready(): Promise<void> {
    this.#assertOpen();
    await this.#init();
  }

  async findToken(token: OAuthToken): Promise<OAuthToken | null> {
    this.#assertOpen();
    const snapshot = snapshotToken(token, 'findToken');
    const found = await findMatch(snapshot, async (values) =>
      decodeRows((await this.#run(this.#sql.candidates, lookupParams(values), secretsOf(snapshot))).rows),
    );
    return found && tokenFromRecord(found);
  }

  async saveToken(token: OAuthToken): Promise<void> {
    this.#assertOpen();
    const snapshot = snapshotToken(token, 'saveToken');
    const secrets = secretsOf(snapshot);
    await this.#init();
    for (let attempt = 1; ; attempt++) {
      try {
        token.id = await this.#withClient(secrets, (client) => this.#saveOnce(client, snapshot));
        return;
      } catch (error) {
        if (!(error instanceof LostRace) && !RETRYABLE.has(codeOf(error))) {
          throw toStoreError(error, [...secrets, ...this.#urlSecrets]);
        }
        if (attempt >= SAVE_ATTEMPTS) {
          throw new ZohoTokenError(ErrorCode.TOKEN_CONFLICT, 'The token would duplicate a stored token', {
            cause: error instanceof LostRace ? undefined : safeCause(error, secrets),
          });
        }
        // Jittered pause, so the racers do not collide again in lockstep.
        await sleep(Math.random() * 5 * 2 ** attempt);
      }
    }
  }

  async deleteToken(id: string): Promise<void> {
    this.#assertOpen();
    const key = checkId(id, 'deleteToken');
    if (key !== null) await this.#run(this.#sql.deleteById, [encodeText(key)], []);
  }

  async getTokens(): Promise<OAuthToken[]> {
    this.#assertOpen();
    return decodeRows((await this.#run(this.#sql.all, [], [])).rows).map(tokenFromRecord);
  }

  async deleteTokens(): Promise<void> {
    this.#assertOpen();
    await this.#run(this.#sql.deleteAll, [], []);
  }

  async findTokenById(id: string): Promise<OAuthToken | null> {
    this.#assertOpen();
    const key = checkId(id, 'findTokenById');
    if (key === null) return null;
    const [record] = decodeRows((await this.#run(this.#sql.byId, [encodeText(key)], [])).rows);
    return record ? tokenFromRecord(record) : null;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Ends idle connections now and busy ones when their operation releases them.
    if (this.#ownPool) await this.#ownPool.end().catch(() => {});
  }

  /** One attempt of a save, inside BEGIN … COMMIT on `client`; returns the row's id. */
  async #saveOnce(client: PostgresPoolClient, snapshot: OAuthToken): Promise<string> {
    const sql = this.#sql;
    const plan = await planSaveAsync(snapshot, async (values) =>
      decodeRows((await client.query(sql.candidatesForUpdate, lookupParams(values))).rows),
    );
    const record = { ...plan.record };
    if (plan.kind === 'update') {
      const params = [...recordToRow(record).slice(1), plan.previous.id].map(encodeText);
      const updated = await client.query(sql.update, params);
      if (updated.rowCount !== 1) throw new LostRace();
      return record.id;
    }
    // Inserters serialize on the high-water row, so two of them never compute the same next id.
    const [mark] = (await client.query(sql.lockHighWater)).rows;
    if (plan.needsId) {
      // A statement of its own: its snapshot is taken after the lock, so it sees every earlier insert.
      const [largest] = (await client.query(sql.largestId)).rows;
      record.id = nextId(Math.max(Number(mark?.['value'] ?? 0), Number(largest?.['largest'] ?? 0)));
    }
    const inserted = await client.query(sql.insert, recordToRow(record).map(encodeText));
    // Nothing inserted: a row committed since our read holds one of the unique keys.
    if (inserted.rowCount !== 1) throw new LostRace();
    const numeric = numericId(record.id);
    if (numeric !== null) await client.query(sql.bumpHighWater, [numeric]);
    return record.id;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ZohoTokenError(ErrorCode.STORE_CLOSED, `${STORE_NAME} is closed`);
  }

  /** Creates the schema once; a failure is not remembered, so the next call tries again. */
  #init(): Promise<void> {
    this.#ready ??= this.#createSchema().catch((error: unknown) => {
      this.#ready = undefined;
      throw isZohoTokenError(error) ? error : storeError('cannot prepare the token table', error, this.#urlSecrets);
    });
    return this.#ready;
  }

  async #createSchema(): Promise<void> {
    if (!this.#createTable) return;
    // Every object there already: skip the DDL, which would briefly lock the table against writers
    // and which a database user without CREATE privilege may not run.
    const { schemaReady, objects, tableName } = this.#sql;
    const [check] = (await this.#withClient([], (client) => client.query(schemaReady, [objects, tableName]), false))
      .rows;
    if (check?.['ready'] === true) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#withClient([], async (client) => {
          // One creator at a time (across processes): concurrent CREATE … IF NOT EXISTS can still
          // collide in the catalogs. The lock ends with the transaction.
          await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ADVISORY_CLASS, this.#sql.qualified]);
          for (const ddl of this.#sql.ddl) await client.query(ddl);
        });
        return;
      } catch (error) {
        if (attempt >= 3 || !DDL_RACE.has(codeOf(error))) throw error;
      }
    }
  }

  /** One statement (autocommit) on a pooled connection, after the schema is ready; errors wrapped. */
  async #run(text: string, values: unknown[], secrets: string[]): Promise<PostgresQueryResult> {
    this.#assertOpen();
    try {
      await this.#init();
      return await this.#withClient(secrets, (client) => client.query(text, values), false);
    } catch (error) {
      throw toStoreError(error, [...secrets, ...this.#urlSecrets]);
    }
  }

  /**
   * Runs `work` on one connection checked out of the pool, in a transaction unless told otherwise,
   * and always gives the connection back: destroyed if it broke, so the next call gets a new one.
   */
  async #withClient<T>(
    secrets: string[],
    work: (client: PostgresPoolClient) => Promise<T>,
    transaction = true,
  ): Promise<T> {
    let client: PostgresPoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw storeError('cannot connect', error, [...secrets, ...this.#urlSecrets]);
    }
    let broken = false;
    // A checked-out connection that drops between two queries emits 'error': unhandled, that
    // would crash the process.
    const onError = (): void => {
      broken = true;
    };
    client.on('error', onError);
    try {
      if (!transaction) return await work(client);
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (transaction && !broken) await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.removeListener('error', onError);
      client.release(broken || undefined);
    }
  }
}

/** Thrown inside a save when a concurrent writer changed the rows it planned on. */
class LostRace extends Error {}

function invalid(field: string, message: string): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, message, { field });
}

function checkName(name: unknown, field: 'table' | 'schema', max: number): string {
  try {
    checkTableName(name);
  } catch {
    throw invalid(
      field,
      `The ${field} name must be letters, digits and underscores, starting with a letter or underscore`,
    );
  }
  const checked = name as string;
  if (checked.length > max) throw invalid(field, `The ${field} name must be at most ${max} characters`);
  return checked;
}

function passwordOf(url: string): string[] {
  try {
    const { password } = new URL(url);
    return password ? [password, decodeURIComponent(password)] : [];
  } catch {
    return [];
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function toStoreError(error: unknown, secrets: string[]): ZohoTokenError {
  if (isZohoTokenError(error)) return error;
  if (codeOf(error) === '23505') {
    return new ZohoTokenError(ErrorCode.TOKEN_CONFLICT, 'The token would duplicate a stored token', {
      cause: safeCause(error, secrets),
    });
  }
  return storeError('operation failed', error, secrets);
}

function storeError(what: string, error: unknown, secrets: string[]): ZohoTokenError {
  const cause = safeCause(error, secrets);
  return new ZohoTokenError(ErrorCode.STORE_ERROR, `${STORE_NAME}: ${what}: ${cause.message}`, { cause });
}

/** The driver error without its extra fields (`detail` echoes values) and with secrets scrubbed. */
function safeCause(error: unknown, secrets: string[]): Error {
  // Values may reach the server encoded (see encodeText): scrub those forms too.
  return sanitizeCause(error, [...secrets, ...secrets.map(encodeText)]);
}

function secretsOf(token: OAuthToken): string[] {
  return SECRET_FIELDS.map((field) => token[field]).filter((value): value is string => typeof value === 'string');
}

/*
 * PostgreSQL text cannot hold NUL (U+0000). A value containing one, or starting with the marker,
 * is stored as the marker followed by its JSON form; every other value is stored as is, so rows
 * stay readable by the official SDKs. The mapping is one-to-one, so encoded lookups stay exact.
 */
const MARK = '\u0001';

function encodeText<T extends string | null>(value: T): T {
  if (value === null || (!value.includes('\u0000') && !value.startsWith(MARK))) return value;
  return `${MARK}${JSON.stringify(value)}` as T;
}

function decodeText(value: unknown): unknown {
  if (typeof value !== 'string' || !value.startsWith(MARK)) return value;
  try {
    const decoded: unknown = JSON.parse(value.slice(MARK.length));
    return typeof decoded === 'string' ? decoded : value;
  } catch {
    return value; // written by someone else: take it as it is
  }
}

function decodeRows(rows: Record<string, unknown>[]): TokenRecord[] {
  return rows.map((row) => rowToRecord(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, decodeText(v)]))));
}

function lookupParams(v: LookupValues): (string | null)[] {
  return [v.id, v.userName, v.accessToken, v.grantToken, v.refreshToken].map(encodeText);
}

/** Identifiers come only from validated names; quoted (and escaped) all the same. */
const q = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;

/** The numeric value of an id (null for other ids); indexed, so the largest is one index probe. */
const NUMERIC_ID = `(CASE WHEN id ~ '^[0-9]{1,10}$' THEN id::bigint END)`;

/**
 * Every statement, built once. B-tree entries are limited to about 2.7 kB, so the token columns
 * are indexed by `md5(column)`, and each lookup compares both the hash (to use the index) and the
 * value (to be exact).
 */
function statements(table: string, schema: string | undefined) {
  const at = (name: string): string => (schema === undefined ? q(name) : `${q(schema)}.${q(name)}`);
  const t = at(table);
  const meta = at(`${table}_meta`);
  const lockTable = at(`${table}_lock`);
  const columns = COLUMNS.join(', ');
  const hashed = (column: string, param: string): string => `(md5(${column}) = md5(${param}) AND ${column} = ${param})`;
  const candidates =
    `SELECT ${columns} FROM ${t} WHERE id = $1 OR ${hashed('user_name', '$2')} OR ${hashed('access_token', '$3')} ` +
    `OR ${hashed('grant_token', '$4')} OR ${hashed('refresh_token', '$5')}`;
  // Unqualified index names resolve like the table's: indexes live in the schema of their table.
  const indexes = INDEX_SUFFIXES.map((suffix) => at(`${table}${suffix}`));
  return {
    qualified: `${schema ?? ''}.${table}`,
    tableName: t,
    objects: [t, meta, lockTable, ...indexes],
    schemaReady:
      `SELECT (SELECT count(*) FROM unnest($1::text[]) AS o(name) WHERE to_regclass(o.name) IS NOT NULL) = cardinality($1::text[]) ` +
      `AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($2) AND attname = 'accounts_url' AND NOT attisdropped) AS ready`,
    lockTable,
    ddl: [
      `CREATE TABLE IF NOT EXISTS ${t} (id varchar(10) NOT NULL, user_name text, client_id text, client_secret text, ` +
        `refresh_token text, access_token text, grant_token text, expiry_time varchar(20), redirect_url text, ` +
        `api_domain text, accounts_url text, PRIMARY KEY (id))`,
      // A table made by the official SDKs lacks our extra column: added after theirs.
      `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS accounts_url text`,
      `CREATE UNIQUE INDEX IF NOT EXISTS ${q(`${table}_refresh_token`)} ON ${t} (md5(refresh_token))`,
      `CREATE UNIQUE INDEX IF NOT EXISTS ${q(`${table}_grant_token`)} ON ${t} (md5(grant_token))`,
      // As the matching rules: a user appears once per client id, a missing client id counting as
      // one value (md5 is never ''); rows without a user name are not constrained (NULLs distinct).
      `CREATE UNIQUE INDEX IF NOT EXISTS ${q(`${table}_client_user`)} ON ${t} (md5(user_name), (coalesce(md5(client_id), '')))`,
      `CREATE INDEX IF NOT EXISTS ${q(`${table}_access_token`)} ON ${t} (md5(access_token))`,
      `CREATE INDEX IF NOT EXISTS ${q(`${table}_id_number`)} ON ${t} (${NUMERIC_ID})`,
      // Highest id ever handed out, so a deleted token's id is never given to another user.
      `CREATE TABLE IF NOT EXISTS ${meta} (name varchar(32) PRIMARY KEY, value bigint NOT NULL)`,
      `INSERT INTO ${meta} (name, value) VALUES ('last_id', 0) ON CONFLICT (name) DO NOTHING`,
      `CREATE TABLE IF NOT EXISTS ${lockTable} (name text PRIMARY KEY, owner text NOT NULL, expires_at timestamptz NOT NULL)`,
    ],
    candidates,
    candidatesForUpdate: `${candidates} FOR UPDATE`,
    byId: `SELECT ${columns} FROM ${t} WHERE id = $1`,
    all: `SELECT ${columns} FROM ${t} ORDER BY ${NUMERIC_ID}, id`,
    insert:
      `INSERT INTO ${t} (${columns}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) ` +
      `ON CONFLICT DO NOTHING`,
    update: `UPDATE ${t} SET ${COLUMNS.slice(1)
      .map((c, i) => `${c} = $${i + 1}`)
      .join(', ')} WHERE id = $${COLUMNS.length}`,
    // A deleted id joins the high-water mark in the same statement, so it is never handed out again
    // (rows an official SDK inserted included).
    deleteById:
      `WITH gone AS (DELETE FROM ${t} WHERE id = $1 RETURNING ${NUMERIC_ID} AS n) ` +
      `UPDATE ${meta} SET value = greatest(value, (SELECT coalesce(max(n), 0) FROM gone)) WHERE name = 'last_id'`,
    deleteAll:
      `WITH gone AS (DELETE FROM ${t} RETURNING ${NUMERIC_ID} AS n) ` +
      `UPDATE ${meta} SET value = greatest(value, (SELECT coalesce(max(n), 0) FROM gone)) WHERE name = 'last_id'`,
    // Upsert rather than SELECT … FOR UPDATE: locks the row, and recreates it if someone deleted it.
    lockHighWater:
      `INSERT INTO ${meta} AS m (name, value) VALUES ('last_id', 0) ` +
      `ON CONFLICT (name) DO UPDATE SET value = m.value RETURNING value`,
    largestId: `SELECT max(${NUMERIC_ID}) AS largest FROM ${t}`,
    bumpHighWater: `UPDATE ${meta} SET value = greatest(value, $1) WHERE name = 'last_id'`,
  };
}
