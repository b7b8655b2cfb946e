/**
 * `zoho-token-store/postgres`: {@link PostgresStore}, tokens in PostgreSQL, for fleets; needs the
 * `pg` package. Options, schema, locking and limits: docs/stores/postgres.md.
 *
 * @packageDocumentation
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isZohoTokenError, type ZohoTokenError } from '../../errors.js';
import type { OAuthToken } from '../../token/oauth-token.js';
import { tokenFromRecord, type TokenRecord } from '../../token/token-record.js';
import { loadDriver } from '../kit/load-driver.js';
import { secretsOf, storeErrors } from '../kit/store-errors.js';
import { StoreLifecycle } from '../kit/store-lifecycle.js';
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
import { lockChannel, PostgresReleaseFeed, type ListenClient } from './postgres-notify.js';
import { DEFAULT_SAFETY_POLL_MS, LockWaiter } from '../kit/lock-waiter.js';
import { INDEX_SUFFIXES, statements } from './postgres-schema.js';
import { checkPostgresUrl } from '../kit/server-url-options.js';
import { COLUMNS, checkTableName, recordToRow, rowToRecord } from '../kit/columns.js';
import {
  assignIds,
  checkBatchSize,
  checkIds,
  distinctIds,
  inIdOrder,
  keysetPages,
  planBatch,
  snapshotBatch,
  type IterateTokensOptions,
} from '../kit/store-paging.js';
import type { StoreLock, TokenStore } from '../kit/token-store.js';
import { backoffMs } from '../kit/backoff.js';

const errors = storeErrors('PostgresStore');

/** The result of a query, as `pg` returns it. */
export interface PostgresQueryResult {
  /** The rows, keyed by column name. */
  rows: Record<string, unknown>[];
  /** How many rows the statement touched (`null` where `pg` reports none). */
  rowCount: number | null;
}

/** A connection checked out of a pool: the part of `pg`'s `PoolClient` the store uses. */
export interface PostgresPoolClient {
  /** Runs one statement with `$1`, `$2`, … bound to `values`. */
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>;
  /** `release(true)` destroys the connection instead of returning it to the pool. */
  release(destroy?: boolean): void;
  /** Listens for the connection dropping while the store has it checked out. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Removes that listener before the connection goes back to the pool. */
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * A connection pool: the part of `pg`'s `Pool` the store uses, typed structurally so that `pg` is
 * only loaded (at run time) when the store builds its own pool from a URL.
 */
export interface PostgresPool {
  /** Checks a connection out of the pool. */
  connect(): Promise<PostgresPoolClient>;
}

/** Options of {@link PostgresStore}: `url` or `pool`, the rest have defaults. */
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
  /**
   * Waiters for a held lock are woken by LISTEN/NOTIFY on a connection of their own (opened on
   * the first wait, outside the pool, closed after 10 s without waiters and in `close()`); this is
   * how long, in ms, a waiter waits for a notification before checking the lock anyway: the safety
   * net for a lost one (a lease that ran out, a dropped connection, a pooler in transaction mode).
   * @default 1000
   */
  lockPollMs?: number;
}

/** The pool the store builds from a URL: it also ends, and reports idle connections that drop. */
interface OwnPool extends PostgresPool {
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

interface PgModule {
  Pool: new (config: { connectionString: string; max: number; connectionTimeoutMillis: number }) => OwnPool;
  Client: new (config: object) => ListenClient;
}

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
  /** The token table's name (`table` option). */
  readonly table: string;
  /** The table's schema (`schema` option); `undefined`: the connection's `search_path`. */
  readonly schema: string | undefined;
  /**
   * Leased locks as rows of a side table (`<table>_lock`), so they work on any pooled connection:
   * taking one is an upsert that succeeds only when the name is free or its lease has run out;
   * releasing deletes the row only if this owner still holds it. Leases are measured on the
   * database server's clock (`clock_timestamp()`), so hosts with skewed clocks agree. Lock names
   * are at most 1024 characters.
   */
  readonly lock: StoreLock;
  readonly #pool: PostgresPool;
  readonly #ownPool: OwnPool | undefined;
  readonly #createTable: boolean;
  readonly #sql: ReturnType<typeof statements>;
  /** Scrubbed from every driver error: the URL's password. */
  readonly #urlSecrets: string[];
  #ready: Promise<void> | undefined;
  readonly #lifecycle = new StoreLifecycle(errors);
  readonly #waiter: LockWaiter;

  /**
   * Checks the options and, with `url`, creates the pool (loading `pg`); connects and prepares the
   * schema on the first call (or by `ready()`).
   *
   * @throws `ZohoTokenError`: `INVALID_ARGUMENT` for a bad option or URL (`field` names it; the
   *   message never holds the URL's password); `DRIVER_MISSING` when `url` is given and `pg` is not
   *   installed.
   */
  constructor(options: PostgresStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw errors.invalid('options', 'needs an options object with url or pool');
    }
    this.table = checkName(options.table ?? 'oauthtoken', 'table', MAX_TABLE);
    this.schema = options.schema === undefined ? undefined : checkName(options.schema, 'schema', MAX_NAME);
    this.#createTable = errors.boolean(options.createTable, 'createTable', true);
    const poolSize = errors.integer(options.poolSize, 'poolSize', 1, 10);
    const connectTimeoutMs = errors.integer(options.connectTimeoutMs, 'connectTimeoutMs', 0, 10_000);
    const lockPollMs = errors.integer(options.lockPollMs, 'lockPollMs', 1, DEFAULT_SAFETY_POLL_MS);
    /** How the release feed opens its connection: like the pool's, outside it. */
    let listenConfig: (() => object) | undefined;
    this.#sql = statements(this.table, this.schema);
    if (options.pool !== undefined) {
      if (options.url !== undefined) throw invalid('url', 'Give either url or pool, not both');
      if (typeof options.pool?.connect !== 'function')
        throw invalid('pool', 'pool must be a pg.Pool (or have its connect())');
      this.#pool = options.pool;
      this.#urlSecrets = [];
      // A pg.Pool keeps its connection settings in `options`: a listener connects the same way.
      const poolOptions = (options.pool as { options?: unknown }).options;
      if (typeof poolOptions === 'object' && poolOptions !== null) listenConfig = () => poolOptions;
    } else {
      // Never echo the URL: it may carry a password.
      if (typeof options.url !== 'string' || !/^postgres(?:ql)?:\/\//i.test(options.url)) {
        throw invalid('url', 'needs url (postgres://… or postgresql://…) or pool');
      }
      checkPostgresUrl(options.url);
      this.#urlSecrets = passwordOf(options.url);
      const { Pool } = loadDriver<PgModule>('pg', errors.name, 'your own pool as the `pool` option');
      try {
        this.#ownPool = new Pool({
          connectionString: options.url,
          max: poolSize,
          connectionTimeoutMillis: connectTimeoutMs,
        });
      } catch (error) {
        throw errors.wrap(error, 'cannot create the connection pool', this.#urlSecrets);
      }
      // An idle connection that drops (server restart, terminated backend) is discarded by the
      // pool, which then emits 'error': without a listener that would crash the process.
      this.#ownPool.on('error', () => {});
      this.#pool = this.#ownPool;
      const url = options.url;
      listenConfig = () => ({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
    }
    const channel = lockChannel(this.#sql.lockTable);
    const connectListener = listenConfig;
    this.#waiter = new LockWaiter(
      connectListener &&
        new PostgresReleaseFeed(channel, () => {
          const { Client } = loadDriver<PgModule>('pg', errors.name, 'your own pool as the `pool` option');
          return new Client(connectListener());
        }),
      { safetyMs: lockPollMs },
    );
    this.lock = new PostgresLock(
      this.#sql.lockTable,
      (text, values, secrets) => this.#run(text, values, secrets),
      channel,
      this.#waiter,
    );
  }

  /**
   * Creates the schema if needed (unless `createTable` is false) and checks the connection, so
   * that a misconfiguration shows at start-up rather than on the first token. Optional: every
   * other method does it on first use.
   */
  ready(): Promise<void> {
    return this.#lifecycle.run(() => this.#init());
  }

  findToken(token: OAuthToken): Promise<OAuthToken | null> {
    return this.#lifecycle.run(async () => {
      const snapshot = snapshotToken(token, 'findToken');
      const found = await findMatch(snapshot, async (values) =>
        decodeRows((await this.#run(this.#sql.candidates, lookupParams(values), secretsOf(snapshot))).rows),
      );
      return found && tokenFromRecord(found);
    });
  }

  saveToken(token: OAuthToken): Promise<void> {
    return this.#lifecycle.run(async () => {
      token.id = await this.#save(snapshotToken(token, 'saveToken'));
    });
  }

  /**
   * Saves the tokens in order as `saveToken` would, in one transaction: the candidates of the whole
   * batch read (and locked) with one query, planned together, new rows written with one multi-row
   * INSERT. When that transaction fails (a refusal, a concurrent writer) it is rolled back and the
   * batch is saved token by token, which gives `saveToken`'s outcome for each.
   */
  saveTokens(tokens: readonly OAuthToken[]): Promise<void> {
    return this.#lifecycle.run(async () => {
      const snapshots = snapshotBatch(tokens);
      if (snapshots.length === 0) return;
      const secrets = snapshots.flatMap((snapshot) => secretsOf(snapshot));
      await this.#init();
      try {
        const ids = await this.#withClient(secrets, (client) => this.#saveBatchOnce(client, snapshots));
        assignIds(tokens, ids);
        return;
      } catch (error) {
        if (!isZohoTokenError(error) && !RETRYABLE.has(codeOf(error))) {
          throw toStoreError(error, [...secrets, ...this.#urlSecrets]);
        }
      }
      for (const [i, snapshot] of snapshots.entries()) tokens[i]!.id = await this.#save(snapshot);
    });
  }

  /** The tokens with these ids, in that order (`null` where none), with one query. */
  findTokensById(ids: readonly string[]): Promise<(OAuthToken | null)[]> {
    return this.#lifecycle.run(async () => {
      const keys = checkIds(ids);
      const wanted = distinctIds(keys).map(encodeText);
      if (wanted.length === 0) return keys.map(() => null);
      const rows = decodeRows((await this.#run(this.#sql.byIds, [wanted], [])).rows);
      return inIdOrder(keys, rows).map((record) => record && tokenFromRecord(record));
    });
  }

  /** Every token, page by page, in id order; see {@link TokenStore.iterateTokens}. */
  async *iterateTokens(options?: IterateTokensOptions): AsyncGenerator<OAuthToken[]> {
    this.#lifecycle.assertOpen();
    const size = checkBatchSize(options);
    yield* keysetPages(size, async (after, limit) =>
      decodeRows((await this.#run(this.#sql.page, [encodeText(after ?? ''), limit], [])).rows).map(tokenFromRecord),
    );
  }

  /** One save with its retries (a lost race plans again); returns the row's id. */
  async #save(snapshot: OAuthToken): Promise<string> {
    const secrets = secretsOf(snapshot);
    await this.#init();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#withClient(secrets, (client) => this.#saveOnce(client, snapshot));
      } catch (error) {
        if (!(error instanceof LostRace) && !RETRYABLE.has(codeOf(error))) {
          throw toStoreError(error, [...secrets, ...this.#urlSecrets]);
        }
        if (attempt >= SAVE_ATTEMPTS) {
          throw errors.conflict(error instanceof LostRace ? undefined : error, safeSecrets(secrets));
        }
        // Jittered pause, so the racers do not collide again in lockstep.
        await sleep(backoffMs(attempt));
      }
    }
  }

  deleteToken(id: string): Promise<void> {
    return this.#lifecycle.run(async () => {
      const key = checkId(id, 'deleteToken');
      if (key !== null) await this.#run(this.#sql.deleteById, [encodeText(key)], []);
    });
  }

  getTokens(): Promise<OAuthToken[]> {
    return this.#lifecycle.run(async () => {
      return decodeRows((await this.#run(this.#sql.all, [], [])).rows).map(tokenFromRecord);
    });
  }

  deleteTokens(): Promise<void> {
    return this.#lifecycle.run(async () => {
      await this.#run(this.#sql.deleteAll, [], []);
    });
  }

  findTokenById(id: string): Promise<OAuthToken | null> {
    return this.#lifecycle.run(async () => {
      const key = checkId(id, 'findTokenById');
      if (key === null) return null;
      const [record] = decodeRows((await this.#run(this.#sql.byId, [encodeText(key)], [])).rows);
      return record ? tokenFromRecord(record) : null;
    });
  }

  /** `close()`, for `await using store = …`: the store is closed when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Waits for the calls in progress, then ends the pool if the store created it. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close(async () => {
      await this.#waiter.close();
      if (this.#ownPool) await this.#ownPool.end().catch(() => {});
    });
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

  /** A batch in BEGIN … COMMIT on `client`: one candidate query, one INSERT; returns each token's id. */
  async #saveBatchOnce(client: PostgresPoolClient, snapshots: readonly OAuthToken[]): Promise<string[]> {
    const sql = this.#sql;
    // Taken first, as every inserter does: the batch's plan sees every earlier insert.
    const [mark] = (await client.query(sql.lockHighWater)).rows;
    // A table that grew since its last ANALYZE looks tiny to the planner, whose sequential scan
    // would then compare every row with every value of the batch: the indexes, always.
    await client.query('SET LOCAL enable_seqscan = off');
    const plan = await planBatch(
      snapshots,
      async (values) => decodeRows((await client.query(sql.candidatesOfBatch, batchParams(values))).rows),
      async () => {
        const [largest] = (await client.query(sql.largestId)).rows;
        return Math.max(Number(mark?.['value'] ?? 0), Number(largest?.['largest'] ?? 0));
      },
    );
    const inserts: TokenRecord[] = [];
    for (const { record, previous } of plan.writes) {
      if (previous === null) {
        inserts.push(record);
        continue;
      }
      const updated = await client.query(sql.update, [...recordToRow(record).slice(1), previous.id].map(encodeText));
      if (updated.rowCount !== 1) throw new LostRace();
    }
    if (inserts.length > 0) {
      const rows = inserts.map((record) => recordToRow(record).map(encodeText));
      await client.query(
        sql.insertMany,
        COLUMNS.map((_, c) => rows.map((row) => row[c])),
      );
      const largest = Math.max(0, ...inserts.map((record) => numericId(record.id) ?? 0));
      if (largest > 0) await client.query(sql.bumpHighWater, [largest]);
    }
    return plan.ids;
  }

  /** Creates the schema once; a failure is not remembered, so the next call tries again. */
  #init(): Promise<void> {
    this.#ready ??= this.#createSchema().catch((error: unknown) => {
      this.#ready = undefined;
      throw errors.wrap(error, 'cannot prepare the token table', this.#urlSecrets);
    });
    return this.#ready;
  }

  async #createSchema(): Promise<void> {
    // Every object there already: skip the DDL, which would briefly lock the table against writers
    // and which a database user without CREATE privilege may not run.
    const { schemaReady, objects, tableName } = this.#sql;
    const [check] = (await this.#withClient([], (client) => client.query(schemaReady, [objects, tableName]), false))
      .rows;
    if (check?.['ready'] === true) return;
    if (!this.#createTable) {
      throw errors.wrap(
        new Error('open it once with createTable: true, or apply the DDL of docs/stores/postgres.md'),
        `the schema of table ${this.table} is incomplete (a table, index or side table is missing)`,
      );
    }
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
    this.#lifecycle.assertOpen();
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
      throw errors.wrap(error, 'cannot connect', safeSecrets([...secrets, ...this.#urlSecrets]));
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

const invalid = errors.invalid;

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

/** A unique violation is TOKEN_CONFLICT; anything else a STORE_ERROR. */
function toStoreError(error: unknown, secrets: string[]): ZohoTokenError {
  if (codeOf(error) === '23505' && !isZohoTokenError(error)) return errors.conflict(error, safeSecrets(secrets));
  return errors.wrap(error, 'operation failed', safeSecrets(secrets));
}

/** Values may reach the server encoded (see encodeText): scrub those forms too. */
function safeSecrets(secrets: readonly string[]): string[] {
  return [...secrets, ...secrets.map(encodeText)];
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

/** The batch candidate query's five arrays (id, user, access, grant, refresh), each value once. */
function batchParams(values: readonly LookupValues[]): string[][] {
  const fields = ['id', 'userName', 'accessToken', 'grantToken', 'refreshToken'] as const;
  return fields.map((field) => [...new Set(values.flatMap((v) => (v[field] === null ? [] : [encodeText(v[field])])))]);
}

function lookupParams(v: LookupValues): (string | null)[] {
  return [v.id, v.userName, v.accessToken, v.grantToken, v.refreshToken].map(encodeText);
}
