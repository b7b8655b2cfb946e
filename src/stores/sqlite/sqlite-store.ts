import { closeSync, existsSync, openSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../../errors.js';
import { sanitizeCause } from '../../redact.js';
import { SECRET_FIELDS, type OAuthToken } from '../../token/oauth-token.js';
import { tokenFromRecord, type TokenRecord } from '../../token/token-record.js';
import { checkId, findMatch, nextId, numericId, planSave, snapshotToken, type LookupValues } from '../kit/matching.js';
import { COLUMNS, EXTRA_COLUMNS, checkTableName, recordToRow, rowToRecord } from '../kit/columns.js';
import { tightenFileModesSync } from '../file/file-mode.js';
import { SqliteLock } from './sqlite-lock.js';
import type { TokenStore } from '../kit/token-store.js';

const STORE_NAME = 'SqliteStore';

export interface SqliteStoreOptions {
  /**
   * Path of the database file (created with mode 0600 when missing), or `':memory:'`.
   * @default 'zohooauth.db'
   */
  filename?: string;
  /**
   * A better-sqlite3 `Database` you opened yourself. The store uses it as is and never closes it;
   * `filename` is then ignored.
   */
  database?: BetterSqlite3.Database;
  /**
   * Table name; letters, digits and underscores. The official SDKs' is `oauthtoken`.
   * @default 'oauthtoken'
   */
  table?: string;
  /**
   * How long a write waits for another process's write to finish before failing, in ms.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * SQLite's `synchronous` pragma. `FULL` makes every acknowledged save survive a power loss;
   * `NORMAL` (with WAL) survives a process crash but may lose the last saves on power loss.
   * @default 'FULL'
   */
  synchronous?: 'NORMAL' | 'FULL' | 'EXTRA';
  /**
   * Fail with STORE_NOT_FOUND instead of creating a missing database file: for readers (a CLI
   * `list`), so that a mistyped path is reported rather than silently created empty.
   * @default false
   */
  mustExist?: boolean;
}

type Row = Record<string, unknown>;

/**
 * The embedded default store: one SQLite file (or `:memory:`) that several processes can share.
 * WAL journal, a busy timeout, every save in an IMMEDIATE transaction (so concurrent processes
 * serialize their read-plan-write), every value a bound parameter, every lookup column indexed.
 */
export class SqliteStore implements TokenStore {
  readonly table: string;
  readonly filename: string;
  readonly lock: SqliteLock;
  readonly #db: BetterSqlite3.Database;
  readonly #ownsDb: boolean;
  readonly #statements: ReturnType<typeof prepare>;
  readonly #saveOne: (token: OAuthToken) => string;
  readonly #saveBatch: (batch: PendingSave[]) => void;
  #pending: PendingSave[] = [];
  #closed = false;

  constructor(options: SqliteStoreOptions = {}) {
    this.table = checkTableName(options.table ?? 'oauthtoken');
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    const synchronous = options.synchronous ?? 'FULL';
    if (!['NORMAL', 'FULL', 'EXTRA'].includes(synchronous)) {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'synchronous must be NORMAL, FULL or EXTRA', {
        field: 'synchronous',
      });
    }
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'busyTimeoutMs must be a non-negative integer', {
        field: 'busyTimeoutMs',
      });
    }
    if (options.mustExist !== undefined && typeof options.mustExist !== 'boolean') {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'mustExist must be a boolean', { field: 'mustExist' });
    }
    this.#ownsDb = options.database === undefined;
    this.filename = options.database?.name ?? options.filename ?? 'zohooauth.db';
    try {
      this.#db = options.database ?? openDatabase(this.filename, options.mustExist === true);
    } catch (error) {
      throw isZohoTokenError(error) ? error : storeError(`cannot open ${JSON.stringify(this.filename)}`, error, []);
    }
    try {
      this.#db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      if (!this.#db.memory) this.#db.pragma('journal_mode = WAL');
      this.#db.pragma(`synchronous = ${synchronous}`);
      createSchema(this.#db, this.table);
      this.#statements = prepare(this.#db, this.table);
    } catch (error) {
      if (this.#ownsDb) this.#db.close();
      throw storeError('cannot prepare the token table', error, []);
    }
    const statements = this.#statements;
    this.#saveOne = this.#db.transaction((snapshot: OAuthToken): string => {
      const plan = planSave(snapshot, (values) => fetchCandidates(statements, values));
      const record = { ...plan.record };
      if (plan.kind === 'update') {
        statements.update.run(...recordToRow(record).slice(1), plan.previous.id);
        return record.id;
      }
      if (plan.needsId) {
        record.id = nextId(statements.largestId.get() as number | null);
      }
      statements.insert.run(...recordToRow(record));
      const numeric = numericId(record.id);
      if (numeric !== null) statements.bumpLastId.run(numeric);
      return record.id;
    });
    // Group commit: saves that arrive together share one IMMEDIATE transaction and one fsync.
    // Each runs in its own savepoint (a nested better-sqlite3 transaction), so a refused save
    // rolls back alone and the others still commit.
    this.#saveBatch = this.#db.transaction((batch: PendingSave[]) => {
      for (const item of batch) {
        try {
          item.id = this.#saveOne(item.snapshot);
        } catch (error) {
          item.error = error;
        }
      }
    }).immediate;
    this.lock = new SqliteLock(this.#db, this.table, () => this.#assertOpen());
  }

  async findToken(token: OAuthToken): Promise<OAuthToken | null> {
    this.#assertOpen();
    const snapshot = snapshotToken(token, 'findToken');
    const found = await findMatch(snapshot, (values) => this.#run(() => fetchCandidates(this.#statements, values)));
    return found && tokenFromRecord(found);
  }

  async saveToken(token: OAuthToken): Promise<void> {
    this.#assertOpen();
    const snapshot = snapshotToken(token, 'saveToken');
    token.id = await new Promise<string>((resolve, reject) => {
      if (this.#pending.push({ snapshot, resolve, reject }) === 1) setImmediate(() => this.#flush());
    });
  }

  async deleteToken(id: string): Promise<void> {
    this.#assertOpen();
    const key = checkId(id, 'deleteToken');
    if (key !== null) this.#run(() => this.#delete(key));
  }

  async getTokens(): Promise<OAuthToken[]> {
    this.#assertOpen();
    const rows = this.#run(() => this.#statements.all.all()) as Row[];
    return rows.map((row) => tokenFromRecord(rowToRecord(row)));
  }

  async deleteTokens(): Promise<void> {
    this.#assertOpen();
    this.#run(() => this.#delete(null));
  }

  async findTokenById(id: string): Promise<OAuthToken | null> {
    this.#assertOpen();
    const key = checkId(id, 'findTokenById');
    if (key === null) return null;
    const row = this.#run(() => this.#statements.byId.get(key)) as Row | undefined;
    return row ? tokenFromRecord(rowToRecord(row)) : null;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    if (this.#ownsDb) this.#db.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ZohoTokenError(ErrorCode.STORE_CLOSED, `${STORE_NAME} is closed`);
  }

  /** Deletes one row (or all): the largest id first joins the high-water mark, so it is never handed out again. */
  readonly #delete = (id: string | null): void => {
    const s = this.#statements;
    this.#db
      .transaction(() => {
        // Only a row that is there raises the mark: deleting an unknown id must not move the numbering.
        if (id === null) s.bumpLastId.run(s.largestId.get() ?? 0);
        else s.bumpLastIdToRow.run(id);
        if (id === null) s.deleteAll.run();
        else s.deleteById.run(id);
      })
      .immediate();
  };

  #flush(): void {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    try {
      this.#saveBatch(batch);
    } catch (error) {
      // The commit itself failed (busy past the timeout, disk full): nothing of the batch was written.
      for (const item of batch) item.error = error;
    }
    for (const item of batch) {
      if (item.error === undefined && item.id !== undefined) item.resolve(item.id);
      else item.reject(toStoreError(item.error, secretsOf(item.snapshot)));
    }
  }

  #run<T>(operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      throw toStoreError(error, []);
    }
  }
}

interface PendingSave {
  snapshot: OAuthToken;
  resolve(id: string): void;
  reject(error: unknown): void;
  id?: string;
  error?: unknown;
}

function toStoreError(error: unknown, secrets: string[]): ZohoTokenError {
  if (isZohoTokenError(error)) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
    return new ZohoTokenError(ErrorCode.TOKEN_CONFLICT, 'The token would duplicate a stored token', {
      cause: sanitizeCause(error, secrets),
    });
  }
  return storeError('operation failed', error, secrets);
}

function storeError(what: string, error: unknown, secrets: string[]): ZohoTokenError {
  const cause = sanitizeCause(error, secrets);
  return new ZohoTokenError(ErrorCode.STORE_ERROR, `${STORE_NAME}: ${what}: ${cause.message}`, { cause });
}

function secretsOf(token: OAuthToken): string[] {
  return SECRET_FIELDS.map((field) => token[field]).filter((value): value is string => typeof value === 'string');
}

function openDatabase(filename: string, mustExist: boolean): BetterSqlite3.Database {
  let Database: typeof BetterSqlite3;
  try {
    Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  } catch (error) {
    throw new ZohoTokenError(
      ErrorCode.DRIVER_MISSING,
      `${STORE_NAME} needs the better-sqlite3 package (version 12 on Node.js 20): npm install better-sqlite3@12`,
      { cause: error },
    );
  }
  if (mustExist && filename !== ':memory:' && filename !== '') {
    try {
      return new Database(filename, { fileMustExist: true });
    } catch (error) {
      if (existsSync(filename)) throw error;
      throw new ZohoTokenError(
        ErrorCode.STORE_NOT_FOUND,
        `the token store ${JSON.stringify(resolvePath(filename))} does not exist (a store opened to read is not created)`,
      );
    }
  }
  if (filename !== ':memory:' && filename !== '') {
    // Create the file ourselves so it is private from the first byte; SQLite gives its WAL and
    // shared-memory files the same mode as the database file.
    try {
      closeSync(openSync(filename, 'wx', 0o600));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // An existing file (and the WAL files SQLite gives its mode) may be readable by others.
      tightenFileModesSync([filename, `${filename}-wal`, `${filename}-shm`], STORE_NAME);
    }
  }
  return new Database(filename);
}

const q = (identifier: string): string => `"${identifier}"`;

/**
 * `numericId` in SQL: 1 to 10 plain digits, else NULL. Not `CAST(id AS INTEGER)`, which reads
 * `" 9999999"` as 9999999 and `"12ab"` as 12, and so numbered differently from every other store.
 */
export const NUMERIC_ID = `(CASE WHEN length(id) BETWEEN 1 AND 10 AND id NOT GLOB '*[^0-9]*' THEN CAST(id AS INTEGER) END)`;

function createSchema(db: BetterSqlite3.Database, table: string): void {
  const t = q(table);
  db.transaction(() => {
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${t} (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), ` +
        `client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), ` +
        `expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), accounts_url varchar(255), ` +
        `primary key (id))`,
    );
    // A table made by the official SDKs (or the seed's sample) lacks our extra columns: add them after.
    const present = new Set((db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name));
    for (const column of EXTRA_COLUMNS) {
      if (!present.has(column)) db.exec(`ALTER TABLE ${t} ADD COLUMN ${column} varchar(255)`);
    }
    db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS ${q(`${table}_refresh_token`)} ON ${t} (refresh_token)`);
    db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS ${q(`${table}_grant_token`)} ON ${t} (grant_token)`);
    db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS ${q(`${table}_client_user`)} ON ${t} (user_name, client_id)`);
    db.exec(`CREATE INDEX IF NOT EXISTS ${q(`${table}_access_token`)} ON ${t} (access_token)`);
    // Replaces the index on CAST(id AS INTEGER) of earlier versions, which numbered by that cast.
    db.exec(`DROP INDEX IF EXISTS ${q(`${table}_id_number`)}`);
    db.exec(`CREATE INDEX IF NOT EXISTS ${q(`${table}_numeric_id`)} ON ${t} ${NUMERIC_ID}`);
    // Highest id ever handed out, so a deleted token's id is never given to another user.
    db.exec(`CREATE TABLE IF NOT EXISTS ${q(`${table}_meta`)} (name varchar(32) PRIMARY KEY, value INTEGER NOT NULL)`);
  }).immediate();
}

function prepare(db: BetterSqlite3.Database, table: string) {
  const t = q(table);
  const meta = q(`${table}_meta`);
  const columns = COLUMNS.join(', ');
  return {
    candidates: db.prepare(
      `SELECT ${columns} FROM ${t} WHERE id = ? OR user_name = ? OR access_token = ? OR grant_token = ? OR refresh_token = ?`,
    ),
    byId: db.prepare(`SELECT ${columns} FROM ${t} WHERE id = ?`),
    all: db.prepare(`SELECT ${columns} FROM ${t} ORDER BY ${NUMERIC_ID} IS NULL, ${NUMERIC_ID}, id`),
    insert: db.prepare(`INSERT INTO ${t} (${columns}) VALUES (${COLUMNS.map(() => '?').join(', ')})`),
    update: db.prepare(
      `UPDATE ${t} SET ${COLUMNS.slice(1)
        .map((c) => `${c} = ?`)
        .join(', ')} WHERE id = ?`,
    ),
    deleteById: db.prepare(`DELETE FROM ${t} WHERE id = ?`),
    deleteAll: db.prepare(`DELETE FROM ${t}`),
    largestId: db
      .prepare(
        `SELECT max(coalesce((SELECT max(${NUMERIC_ID}) FROM ${t}), 0), ` +
          `coalesce((SELECT value FROM ${meta} WHERE name = 'last_id'), 0))`,
      )
      .pluck(),
    bumpLastId: db.prepare(
      `INSERT INTO ${meta} (name, value) VALUES ('last_id', ?) ` +
        `ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`,
    ),
    bumpLastIdToRow: db.prepare(
      `INSERT INTO ${meta} (name, value) SELECT 'last_id', coalesce(max(${NUMERIC_ID}), 0) FROM ${t} WHERE id = ? ` +
        `ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`,
    ),
  };
}

function fetchCandidates(statements: ReturnType<typeof prepare>, v: LookupValues): TokenRecord[] {
  const rows = statements.candidates.all(v.id, v.userName, v.accessToken, v.grantToken, v.refreshToken) as Row[];
  return rows.map(rowToRecord);
}
