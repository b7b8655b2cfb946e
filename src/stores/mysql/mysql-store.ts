/**
 * `zoho-token-store/mysql`: {@link MySqlStore}, tokens in MySQL or MariaDB (the official SDKs'
 * `oauthtoken` table), for fleets; needs the `mysql2` package. Options, schema, locking and limits:
 * docs/stores/mysql.md.
 *
 * @packageDocumentation
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../../errors.js';
import { sanitizeCause } from '../../redact.js';
import type { OAuthToken } from '../../token/oauth-token.js';
import { RECORD_FIELDS, tokenFromRecord, type TokenRecord } from '../../token/token-record.js';
import { loadDriver } from '../kit/load-driver.js';
import { secretsOf, storeErrors } from '../kit/store-errors.js';
import { StoreLifecycle, readyStore } from '../kit/store-lifecycle.js';
import {
  checkId,
  findMatch,
  nextId,
  numericId,
  planSaveAsync,
  snapshotToken,
  type LookupValues,
} from '../kit/matching.js';
import { MySqlLock, type MySqlValue } from './mysql-lock.js';
import {
  COLUMN_TYPES,
  GENERATED,
  INDEXES,
  LOOKUPS,
  TABLE_OPTIONS,
  lockTableDdl,
  quote,
  statements,
} from './mysql-schema.js';
import { checkMySqlUrlOptions } from '../kit/server-url-options.js';
import { COLUMNS, checkTableName, recordToRow, rowToRecord, type Column } from '../kit/columns.js';
import type { StoreLock, TokenStore } from '../kit/token-store.js';
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
import { backoffMs } from '../kit/backoff.js';

export type { MySqlValue } from './mysql-lock.js';

const errors = storeErrors('MySqlStore');
const STORE_NAME = errors.name;

/**
 * The parts of a `mysql2/promise` pool the store uses, typed structurally so that mysql2 is only
 * loaded (at runtime) by those who use this store. A `mysql2/promise` `Pool` fits.
 */
export interface MySqlPool {
  /** A connection of its own, for the transaction of a save. */
  getConnection(): Promise<MySqlPoolConnection>;
  /** A prepared statement with bound values, on any pooled connection. */
  execute(sql: string, values?: MySqlValue[]): Promise<unknown>;
  /** A statement without values (the schema's DDL). */
  query(sql: string): Promise<unknown>;
  /** Closes the pool; called by `close()` only on a pool the store created from `url`. */
  end(): Promise<void>;
}

/** The parts of a `mysql2/promise` `PoolConnection` the store uses. */
export interface MySqlPoolConnection {
  /** A prepared statement with bound values. */
  execute(sql: string, values?: MySqlValue[]): Promise<unknown>;
  /** A statement without values (`START TRANSACTION`, `COMMIT`, the session's SQL mode). */
  query(sql: string): Promise<unknown>;
  /** Gives the connection back to the pool after a save. */
  release(): void;
  /** Drops a connection in an unknown state (lost, or a rollback failed) instead of pooling it. */
  destroy(): void;
}

/** Options of {@link MySqlStore}: `url` or `pool`, the rest have defaults. */
export interface MySqlStoreOptions {
  /**
   * `mysql://user:password@host:port/database` (or `mariadb://…`); query parameters are passed to
   * mysql2 as connection options (`?ssl={"rejectUnauthorized":true}`). The store creates a pool
   * from it and closes that pool in `close()`. Give either `url` or `pool`.
   */
  url?: string;
  /**
   * A `mysql2/promise` pool you created (with a default database). The store uses it as is and
   * never closes it. Give either `url` or `pool`.
   */
  pool?: MySqlPool;
  /**
   * Table name: letters, digits and underscores, at most 59 characters (the side tables
   * `<table>_meta` and `<table>_lock` must fit MySQL's 64). The official SDKs' is `oauthtoken`.
   * @default 'oauthtoken'
   */
  table?: string;
  /**
   * Create the tables, and add our columns and indexes to an existing (official) table, when they
   * are missing. With `false` the store only checks that they exist: for database users without
   * DDL rights, once an administrator has run the DDL of docs/stores/mysql.md.
   * @default true
   */
  createTable?: boolean;
  /**
   * Size of the connection pool created from `url` (ignored with `pool`).
   * @default 10
   */
  poolSize?: number;
  /** @deprecated since 0.2: renamed `poolSize`, as in every store. */
  connectionLimit?: number;
}

type Row = Record<string, unknown>;
type Run = (sql: string, values: MySqlValue[]) => Promise<Row[]>;

/** How a column limits a value: characters (varchar) or bytes (text types). */
interface ColumnLimit {
  chars?: number;
  bytes?: number;
}

/** Saves hitting a duplicate key or a deadlock (a foreign writer raced us) are retried whole. */
const SAVE_ATTEMPTS = 5;

const ER_DUP_FIELDNAME = 1060;
const ER_DUP_KEYNAME = 1061;
const ER_DUP_ENTRY = 1062;
const ER_LOCK_DEADLOCK = 1213;
const ER_TRUNCATED_WRONG_VALUE_FOR_FIELD = 1366;
const ER_DATA_TOO_LONG = 1406;

/**
 * A store in a MySQL or MariaDB table compatible with the official SDKs' `oauthtoken` table, for a
 * fleet of processes and hosts. Every save is one transaction on one pooled connection that first
 * locks a meta row (so savers of every process serialize their read-plan-write and never hand
 * out one id twice), then locks its candidate rows, writes the plan of `matching.ts` and commits.
 * Exact, case-sensitive uniqueness comes from SHA-256 columns with unique indexes; every value is
 * a bound parameter of a server-side prepared statement.
 *
 * The schema is prepared on the first call (or by `MySqlStore.open`, which reports problems at once).
 */
export class MySqlStore implements TokenStore {
  /** The token table's name (`table` option). */
  readonly table: string;
  /**
   * Leased locks as rows of a side table (`<table>_lock`), so they work on any pooled connection
   * and across hosts: taking one is an upsert that changes the owner only when the stored lease has
   * run out; releasing deletes the row only if this owner still holds it. Leases are measured on
   * the database server's clock, so hosts with skewed clocks agree. Lock names are at most 255
   * characters.
   */
  readonly lock: StoreLock;
  readonly #pool: MySqlPool;
  readonly #ownsPool: boolean;
  readonly #createTable: boolean;
  readonly #sql: ReturnType<typeof statements>;
  readonly #lifecycle = new StoreLifecycle(errors);
  #init: Promise<void> | undefined;
  #limits = new Map<Column, ColumnLimit>();

  /**
   * `new MySqlStore(options)` followed by `ready()`, closing the store when that fails.
   * @deprecated since 0.2: construct the store and call `ready()`, as with every store.
   */
  static async open(options: MySqlStoreOptions): Promise<MySqlStore> {
    return readyStore(new MySqlStore(options));
  }

  /**
   * Checks the options and, with `url`, creates the pool (loading `mysql2`); connects and prepares
   * the schema on the first call (or by `ready()`).
   *
   * @throws `ZohoTokenError`: `INVALID_ARGUMENT` for a bad option or URL (`field` names it; the
   *   message never holds the URL's password); `DRIVER_MISSING` when `url` is given and `mysql2` is
   *   not installed.
   */
  constructor(options: MySqlStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw errors.invalid('options', 'needs options with a url or a pool');
    }
    this.table = checkMySqlTableName(options.table ?? 'oauthtoken');
    this.#createTable = errors.boolean(options.createTable, 'createTable', true);
    if ((options.url === undefined) === (options.pool === undefined)) {
      throw errors.invalid('url', 'needs exactly one of url and pool');
    }
    if (options.pool !== undefined) {
      if (typeof options.pool?.getConnection !== 'function' || typeof options.pool.execute !== 'function') {
        throw errors.invalid('pool', 'pool must be a mysql2/promise pool');
      }
      this.#pool = options.pool;
      this.#ownsPool = false;
    } else {
      const connectionLimit =
        options.poolSize === undefined && options.connectionLimit !== undefined
          ? errors.integer(options.connectionLimit, 'connectionLimit', 1, 10)
          : errors.integer(options.poolSize, 'poolSize', 1, 10);
      const uri = checkUrl(options.url);
      const driver = loadDriver<{ createPool(config: object): MySqlPool }>(
        'mysql2/promise',
        STORE_NAME,
        'a mysql2/promise pool as `pool`',
      );
      try {
        this.#pool = driver.createPool({ uri, connectionLimit });
      } catch (error) {
        // mysql2 checks some values only here, with a TypeError (`?ssl=` names no SSL profile,
        // `?charset=` no charset): a URL error, with the message scrubbed of the URL's passwords.
        const message = sanitizeCause(error, urlPasswords(uri)).message;
        throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `url: the mysql2 driver refuses an option: ${message}`, {
          field: 'url',
        });
      }
      this.#ownsPool = true;
    }
    this.#sql = statements(this.table);
    this.lock = new MySqlLock(quote(`${this.table}_lock`), (sql, values) =>
      this.#operation([], () => this.#execute(sql, values)),
    );
  }

  async findToken(token: OAuthToken): Promise<OAuthToken | null> {
    this.#lifecycle.assertOpen();
    const snapshot = snapshotToken(token, 'findToken');
    return this.#operation(secretsOf(snapshot), async () => {
      const found = await findMatch(snapshot, (values) =>
        this.#candidates((s, v) => this.#execute(s, v), values, false),
      );
      return found && tokenFromRecord(found);
    });
  }

  async saveToken(token: OAuthToken): Promise<void> {
    this.#lifecycle.assertOpen();
    const snapshot = snapshotToken(token, 'saveToken');
    const secrets = secretsOf(snapshot);
    token.id = await this.#operation(secrets, async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#saveOnce(snapshot, secrets);
        } catch (error) {
          const retry =
            error instanceof StaleConnection || [ER_DUP_ENTRY, ER_LOCK_DEADLOCK].includes(errnoOf(error) ?? 0);
          if (!retry || attempt >= SAVE_ATTEMPTS) throw error instanceof StaleConnection ? error.cause : error;
          await sleep(backoffMs(attempt));
        }
      }
    });
  }

  /**
   * Saves the tokens in order as `saveToken` would, in one transaction: the candidates of the whole
   * batch read (and locked) with one query, planned together, new rows written with one multi-row
   * INSERT. When that transaction fails (a refusal, a concurrent writer) it is rolled back and the
   * batch is saved token by token, which gives `saveToken`'s outcome for each.
   */
  async saveTokens(tokens: readonly OAuthToken[]): Promise<void> {
    this.#lifecycle.assertOpen();
    const snapshots = snapshotBatch(tokens);
    if (snapshots.length === 0) return;
    const secrets = snapshots.flatMap((snapshot) => secretsOf(snapshot));
    const ids = await this.#operation(secrets, async () => {
      try {
        return await this.#transaction((run) => this.#saveBatchInTransaction(run, snapshots, secrets));
      } catch (error) {
        const retry = isZohoTokenError(error) || [ER_DUP_ENTRY, ER_LOCK_DEADLOCK].includes(errnoOf(error) ?? 0);
        if (!retry) throw error instanceof StaleConnection ? error.cause : error;
        return null;
      }
    });
    if (ids !== null) {
      assignIds(tokens, ids);
      return;
    }
    for (const token of tokens) await this.saveToken(token);
  }

  /** The tokens with these ids, in that order (`null` where none), with one query. */
  async findTokensById(ids: readonly string[]): Promise<(OAuthToken | null)[]> {
    this.#lifecycle.assertOpen();
    const keys = checkIds(ids);
    const wanted = distinctIds(keys);
    if (wanted.length === 0) return keys.map(() => null);
    return this.#operation([], async () => {
      const rows = await this.#execute(`${this.#sql.select} WHERE id IN (${wanted.map(() => '?').join(', ')})`, wanted);
      // `IN` ignores trailing spaces (PAD SPACE): inIdOrder keeps exact matches only.
      return inIdOrder(keys, rows.map(rowToRecord)).map((record) => record && tokenFromRecord(record));
    });
  }

  /** Every token, page by page, in id order; see {@link TokenStore.iterateTokens}. */
  async *iterateTokens(options?: IterateTokensOptions): AsyncGenerator<OAuthToken[]> {
    this.#lifecycle.assertOpen();
    const size = checkBatchSize(options);
    yield* keysetPages(size, (after, limit) =>
      this.#operation([], async () =>
        (await this.#execute(this.#sql.page, [after ?? '', String(limit)])).map((row) =>
          tokenFromRecord(rowToRecord(row)),
        ),
      ),
    );
  }

  async deleteToken(id: string): Promise<void> {
    this.#lifecycle.assertOpen();
    const key = checkId(id, 'deleteToken');
    if (key === null) return;
    await this.#operation([], async () => {
      // The id joins the high-water mark first, so it is never handed out again (official rows included).
      await this.#execute(this.#sql.bumpLastIdTo, [key, key]);
      await this.#execute(this.#sql.deleteById, [key, key]);
    });
  }

  async getTokens(): Promise<OAuthToken[]> {
    this.#lifecycle.assertOpen();
    return this.#operation([], async () =>
      (await this.#execute(this.#sql.all, [])).map((row) => tokenFromRecord(rowToRecord(row))),
    );
  }

  async deleteTokens(): Promise<void> {
    this.#lifecycle.assertOpen();
    await this.#operation([], async () => {
      await this.#execute(this.#sql.bumpLastIdToMax, []);
      await this.#execute(this.#sql.deleteAll, []);
    });
  }

  async findTokenById(id: string): Promise<OAuthToken | null> {
    this.#lifecycle.assertOpen();
    const key = checkId(id, 'findTokenById');
    if (key === null) return null;
    return this.#operation([], async () => {
      // `=` ignores trailing spaces (and case, in an official table): keep only the exact id.
      const found = (await this.#execute(this.#sql.byId, [key])).map(rowToRecord).find((record) => record.id === key);
      return found ? tokenFromRecord(found) : null;
    });
  }

  /**
   * Prepares the schema (creating what is missing unless `createTable` is false) and checks the
   * connection, so that a misconfiguration shows at start-up rather than on the first token.
   * Optional: every other method does it on first use.
   */
  ready(): Promise<void> {
    return this.#operation([], async () => undefined);
  }

  /** `close()`, for `await using store = …`: the store is closed when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Waits for the calls in progress, then ends the pool if the store created it. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close(async () => {
      if (!this.#ownsPool) return;
      try {
        await this.#pool.end();
      } catch (error) {
        throw storeError('cannot close the pool', error, []);
      }
    });
  }

  /** Runs a call once the schema is ready; tracks it for `close` and types its errors. */
  #operation<T>(secrets: readonly string[], body: () => Promise<T>): Promise<T> {
    return this.#lifecycle.run(async () => {
      try {
        return await this.#ready().then(body);
      } catch (error) {
        throw toStoreError(error, secrets);
      }
    });
  }

  #ready(): Promise<void> {
    this.#init ??= prepareSchema(this.#pool, this.table, this.#createTable).then(
      (limits) => {
        this.#limits = limits;
      },
      (error: unknown) => {
        // Let the next call try again (the server may be back by then).
        this.#init = undefined;
        throw storeError(`cannot prepare table ${this.table}`, error, []);
      },
    );
    return this.#init;
  }

  /** One statement on any pooled connection; a connection the server dropped while idle is retried once. */
  async #execute(sql: string, values: MySqlValue[]): Promise<Row[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return rowsOf(await this.#pool.execute(sql, values));
      } catch (error) {
        if (attempt >= 2 || !isFatal(error)) throw error;
      }
    }
  }

  async #candidates(run: Run, values: LookupValues, forUpdate: boolean): Promise<TokenRecord[]> {
    const conditions: string[] = [];
    const params: MySqlValue[] = [];
    for (const [key, condition] of LOOKUPS) {
      const value = values[key];
      if (value === null) continue;
      conditions.push(condition);
      params.push(value);
    }
    if (conditions.length === 0) return [];
    const sql = `${this.#sql.select} WHERE ${conditions.join(' OR ')}${forUpdate ? ' FOR UPDATE' : ''}`;
    return (await run(sql, params)).map(rowToRecord);
  }

  /** One attempt of a save. */
  #saveOnce(snapshot: OAuthToken, secrets: string[]): Promise<string> {
    return this.#transaction((run) => this.#saveInTransaction(run, snapshot, secrets));
  }

  /** A transaction on one connection, rolled back on any error, the connection always given back. */
  async #transaction<T>(work: (run: Run) => Promise<T>): Promise<T> {
    const connection = await this.#pool.getConnection();
    let healthy = true;
    try {
      try {
        // Strict mode for this session: a value too long for its column is refused, never truncated.
        await connection.query(STRICT_MODE);
      } catch (error) {
        // The server dropped this idle connection: nothing was done yet, another one will do.
        if (isFatal(error)) throw new StaleConnection(error);
        throw error;
      }
      await connection.query('START TRANSACTION');
      try {
        const result = await work((sql, values) => connection.execute(sql, values).then(rowsOf));
        await connection.query('COMMIT');
        return result;
      } catch (error) {
        if (!isFatal(error)) await connection.query('ROLLBACK').catch(() => (healthy = false));
        throw error;
      }
    } catch (error) {
      if (isFatal(error) || error instanceof StaleConnection) healthy = false;
      throw error;
    } finally {
      if (healthy) await connection.query(RESTORE_MODE).catch(() => (healthy = false));
      if (healthy) connection.release();
      else connection.destroy();
    }
  }

  /** A batch in one transaction: one candidate query, one multi-row INSERT; returns each token's id. */
  async #saveBatchInTransaction(run: Run, snapshots: readonly OAuthToken[], secrets: string[]): Promise<string[]> {
    await run(this.#sql.lockMeta, []);
    const plan = await planBatch(
      snapshots,
      (values) => this.#candidatesOfBatch(run, values),
      async () => Number((await run(this.#sql.largestId, []))[0]?.['largest'] ?? 0),
    );
    const inserts: TokenRecord[] = [];
    for (const { record, previous } of plan.writes) {
      secrets.push(...secretsOf(record));
      this.#checkFits(record);
      if (previous === null) inserts.push(record);
      else await run(this.#sql.update, [...recordToRow(record).slice(1), previous.id]);
    }
    if (inserts.length > 0) {
      const row = `(${COLUMNS.map(() => '?').join(', ')})`;
      await run(
        `INSERT INTO ${quote(this.table)} (${COLUMNS.join(', ')}) VALUES ${inserts.map(() => row).join(', ')}`,
        inserts.flatMap((record) => recordToRow(record)),
      );
      const largest = Math.max(0, ...inserts.map((record) => numericId(record.id) ?? 0));
      if (largest > 0) await run(this.#sql.bumpLastId, [largest, largest]);
    }
    return plan.ids;
  }

  /** The candidates of a whole batch with one query: each lookup column with an IN list. */
  async #candidatesOfBatch(run: Run, batch: readonly LookupValues[]): Promise<TokenRecord[]> {
    const conditions: string[] = [];
    const params: MySqlValue[] = [];
    for (const [key, condition] of LOOKUPS) {
      const values = [...new Set(batch.flatMap((v) => (v[key] === null ? [] : [v[key]])))];
      if (values.length === 0) continue;
      // `col = ?` (or `col = <digest of ?>`) becomes `col IN (?, ?, …)` with the same expression per value.
      const [column, expression] = condition.split(' = ') as [string, string];
      conditions.push(`${column} IN (${values.map(() => expression).join(', ')})`);
      params.push(...values);
    }
    if (conditions.length === 0) return [];
    return (await run(`${this.#sql.select} WHERE ${conditions.join(' OR ')} FOR UPDATE`, params)).map(rowToRecord);
  }

  async #saveInTransaction(run: Run, snapshot: OAuthToken, secrets: string[]): Promise<string> {
    // Every saver of every process queues on this one row, so the plan below sees all their
    // commits and the next id cannot be handed out twice.
    await run(this.#sql.lockMeta, []);
    const plan = await planSaveAsync(snapshot, (values) => this.#candidates(run, values, true));
    const record = { ...plan.record };
    secrets.push(...secretsOf(record));
    this.#checkFits(record);
    if (plan.kind === 'update') {
      await run(this.#sql.update, [...recordToRow(record).slice(1), plan.previous.id]);
      return record.id;
    }
    if (plan.needsId) {
      const [row] = await run(this.#sql.largestId, []);
      record.id = nextId(row?.['largest'] as string | number | null | undefined);
    }
    await run(this.#sql.insert, recordToRow(record));
    const number = numericId(record.id);
    if (number !== null) await run(this.#sql.bumpLastId, [number, number]);
    return record.id;
  }

  /** A value longer than its column (an official table's varchar(255)) is refused by name, never truncated. */
  #checkFits(record: TokenRecord): void {
    const row = recordToRow(record);
    COLUMNS.forEach((column, index) => {
      const value = row[index];
      const limit = this.#limits.get(column);
      if (value == null || limit === undefined) return;
      const tooLong =
        (limit.chars !== undefined && value.length > limit.chars && [...value].length > limit.chars) ||
        (limit.bytes !== undefined && Buffer.byteLength(value, 'utf8') > limit.bytes);
      if (!tooLong) return;
      const field = fieldOf(column);
      const size = limit.chars !== undefined ? `${limit.chars} characters` : `${limit.bytes} bytes`;
      throw new ZohoTokenError(
        ErrorCode.INVALID_TOKEN,
        `${STORE_NAME}: the token's ${field} is longer than column ${column} of table ${this.table} holds (${size}); nothing was saved`,
        { field },
      );
    });
  }
}

/** A connection that was dead before the save used it; the save is retried on another. */
class StaleConnection extends Error {
  constructor(override readonly cause: unknown) {
    super('stale pooled connection');
  }
}

// Session strict mode for a save, restored before the connection goes back to the pool (it may
// be the caller's pool).
const STRICT_MODE =
  "SET @zts_sql_mode = @@SESSION.sql_mode, SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES')";
const RESTORE_MODE = 'SET SESSION sql_mode = @zts_sql_mode';

interface Schema {
  tables: Set<string>;
  columns: Map<string, { type: string; chars: number | null; bytes: number | null }>;
  indexes: Set<string>;
}

async function readSchema(pool: MySqlPool, table: string): Promise<Schema> {
  const where = 'TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?';
  const tables = rowsOf(
    await pool.execute(
      `SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?, ?, ?)`,
      [table, `${table}_meta`, `${table}_lock`],
    ),
  );
  const columns = rowsOf(
    await pool.execute(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS type, CHARACTER_MAXIMUM_LENGTH AS chars, CHARACTER_OCTET_LENGTH AS bytes FROM information_schema.COLUMNS WHERE ${where}`,
      [table],
    ),
  );
  const indexes = rowsOf(
    await pool.execute(`SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS WHERE ${where}`, [table]),
  );
  const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
  return {
    tables: new Set(tables.map((row) => String(row['name']))),
    columns: new Map(
      columns.map((row) => [
        String(row['name']),
        { type: String(row['type']).toLowerCase(), chars: num(row['chars']), bytes: num(row['bytes']) },
      ]),
    ),
    indexes: new Set(indexes.map((row) => String(row['name']))),
  };
}

/** ALTER TABLE clauses for what an existing table lacks (an official one lacks all of ours). */
function missingClauses(schema: Schema): string[] {
  const clauses: string[] = [];
  COLUMNS.forEach((column, index) => {
    if (schema.columns.has(column)) return;
    const type =
      column === 'id' ? COLUMN_TYPES[column] : `${COLUMN_TYPES[column]} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`;
    clauses.push(`ADD COLUMN ${column} ${type} ${index === 0 ? 'FIRST' : `AFTER ${COLUMNS[index - 1]}`}`);
  });
  for (const [name, ddl] of GENERATED) if (!schema.columns.has(name)) clauses.push(`ADD COLUMN ${name} ${ddl}`);
  for (const [name, ddl] of INDEXES) if (!schema.indexes.has(name)) clauses.push(`ADD ${ddl}`);
  return clauses;
}

/**
 * Creates or completes the schema, idempotently: several instances starting at once are safe
 * (`IF NOT EXISTS`, and a concurrent opener's "duplicate column / key name" just means it added
 * them first). The types of an existing table's columns are never changed. Returns the length
 * limit of every column.
 */
async function prepareSchema(pool: MySqlPool, table: string, create: boolean): Promise<Map<Column, ColumnLimit>> {
  const t = quote(table);
  if (create) {
    const definitions = [
      ...COLUMNS.map((column) => `${column} ${COLUMN_TYPES[column]}`),
      ...GENERATED.map(([name, ddl]) => `${name} ${ddl}`),
      'PRIMARY KEY (id)',
      ...INDEXES.map(([, ddl]) => ddl),
    ];
    await pool.query(`CREATE TABLE IF NOT EXISTS ${t} (${definitions.join(', ')}) ${TABLE_OPTIONS}`);
    await pool.query(
      `CREATE TABLE IF NOT EXISTS ${quote(`${table}_meta`)} (name varchar(32) NOT NULL, value bigint unsigned NOT NULL, PRIMARY KEY (name)) ${TABLE_OPTIONS}`,
    );
    await pool.query(lockTableDdl(quote(`${table}_lock`)));
    for (let attempt = 0; attempt < 5; attempt++) {
      const clauses = missingClauses(await readSchema(pool, table));
      if (clauses.length === 0) break;
      try {
        await pool.query(`ALTER TABLE ${t} ${clauses.join(', ')}`);
      } catch (error) {
        const errno = errnoOf(error);
        if (errno === ER_DUP_FIELDNAME || errno === ER_DUP_KEYNAME) continue;
        if (errno === ER_DUP_ENTRY) {
          throw new ZohoTokenError(
            ErrorCode.STORE_ERROR,
            `${STORE_NAME}: cannot add the unique indexes to table ${table}: two of its rows share a refresh token, a grant token or a (user name, client id); remove the duplicates (the official SDKs could write them) and open it again`,
            { cause: driverCause(error, []) },
          );
        }
        throw error;
      }
    }
  }
  const schema = await readSchema(pool, table);
  const missing = [table, `${table}_meta`, `${table}_lock`].filter((name) => !schema.tables.has(name));
  if (missing.length === 0)
    missing.push(...missingClauses(schema).map((clause) => clause.split(' ').slice(1, 3).join(' ')));
  if (missing.length > 0) {
    throw new ZohoTokenError(
      ErrorCode.STORE_ERROR,
      `${STORE_NAME}: the schema of table ${table} is incomplete (missing: ${missing.join(', ')}); ` +
        (create
          ? 'it could not be completed'
          : 'open it once with createTable: true, or apply the DDL of docs/stores/mysql.md'),
    );
  }
  const limits = new Map<Column, ColumnLimit>();
  for (const column of COLUMNS) {
    const info = schema.columns.get(column);
    if (info === undefined) continue;
    if ((info.type === 'varchar' || info.type === 'char') && info.chars !== null)
      limits.set(column, { chars: info.chars });
    else if (info.type.endsWith('text') && info.bytes !== null) limits.set(column, { bytes: info.bytes });
  }
  return limits;
}

/** checkTableName, plus room for the `_meta` and `_lock` side tables in MySQL's 64 characters. */
function checkMySqlTableName(table: unknown): string {
  const name = checkTableName(table);
  if (name.length > 59) {
    throw errors.invalid('table', 'table names are limited to 59 characters');
  }
  return name;
}

/** Checks the URL's form without ever echoing it (it may hold a password). */
function checkUrl(url: unknown): string {
  const bad = (message: string): ZohoTokenError =>
    new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, message, { field: 'url' });
  if (typeof url !== 'string') throw bad('url must be a string');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad('url is not a valid URL (expected mysql://user:password@host:port/database)');
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw bad('url must start with mysql:// or mariadb://');
  }
  if (parsed.hostname === '' || parsed.pathname.length <= 1 || parsed.pathname.slice(1).includes('/')) {
    throw bad('url must name a host and a database: mysql://user:password@host:port/database');
  }
  checkMySqlUrlOptions(parsed);
  return url;
}

/** The passwords a mysql URL carries: its user info, and the extra factors mysql2 takes in the query. */
function urlPasswords(url: string): string[] {
  const parsed = new URL(url);
  const decode = (value: string): string => {
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  };
  const query = ['password1', 'password2', 'password3', 'passwordSha1'].map(
    (key) => parsed.searchParams.get(key) ?? '',
  );
  return [parsed.password, decode(parsed.password), ...query].filter((v) => v !== '');
}

function rowsOf(result: unknown): Row[] {
  const rows = Array.isArray(result) ? (result[0] as unknown) : undefined;
  return Array.isArray(rows) ? (rows as Row[]) : [];
}

function errnoOf(error: unknown): number | undefined {
  const errno = typeof error === 'object' && error !== null ? (error as { errno?: unknown }).errno : undefined;
  return typeof errno === 'number' ? errno : undefined;
}

/** mysql2 marks errors that end the connection (lost, killed, reset) as fatal. */
function isFatal(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { fatal?: unknown }).fatal === true;
}

function fieldOf(column: Column): string {
  const field = RECORD_FIELDS[COLUMNS.indexOf(column)] ?? column;
  return field === 'userName' ? 'userSignature' : field;
}

/**
 * `sanitizeCause`, plus: MySQL quotes the offending value in some messages ("Duplicate entry
 * '<value>' for key …", "Incorrect string value: '<bytes>' for column …"); drop it, whatever it is.
 */
function driverCause(error: unknown, secrets: readonly string[]): Error {
  const cause = sanitizeCause(error, secrets);
  const strip = (text: string): string => text.replace(/'[\s\S]*' for (key|column) /, "'…' for $1 ");
  cause.message = strip(cause.message);
  cause.stack = strip(cause.stack ?? '');
  return cause;
}

function toStoreError(error: unknown, secrets: readonly string[]): ZohoTokenError {
  if (isZohoTokenError(error)) return error;
  const cause = driverCause(error, secrets);
  switch (errnoOf(error)) {
    case ER_DUP_ENTRY:
      return errors.conflict(cause);
    case ER_DATA_TOO_LONG:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: {
      const column = COLUMNS.find((c) => cause.message.includes(`'${c}'`) || cause.message.includes(`\`${c}\``));
      return new ZohoTokenError(
        ErrorCode.INVALID_TOKEN,
        `${STORE_NAME}: a value does not fit its column: ${cause.message}; nothing was saved`,
        {
          cause,
          ...(column === undefined ? {} : { field: fieldOf(column) }),
        },
      );
    }
    default:
      return errors.wrap(cause, 'operation failed');
  }
}

function storeError(what: string, error: unknown, secrets: readonly string[]): ZohoTokenError {
  return isZohoTokenError(error) ? error : errors.wrap(driverCause(error, secrets), what);
}
