import { closeSync, existsSync, openSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../../errors.js';
import type { OAuthToken } from '../../token/oauth-token.js';
import { tokenFromRecord, type TokenRecord } from '../../token/token-record.js';
import { checkId, findMatch, nextId, numericId, planSave, snapshotToken, type LookupValues } from '../kit/matching.js';
import { checkTableName, recordToRow, rowToRecord } from '../kit/columns.js';
import { loadDriver } from '../kit/load-driver.js';
import { secretsOf, storeErrors } from '../kit/store-errors.js';
import { StoreLifecycle } from '../kit/store-lifecycle.js';
import type { TokenStore } from '../kit/token-store.js';
import { tightenFileModesSync } from '../file/file-mode.js';
import { SqliteLock } from './sqlite-lock.js';
import { createSchema, prepare } from './sqlite-schema.js';

export { NUMERIC_ID } from './sqlite-schema.js';

const errors = storeErrors('SqliteStore');

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
  readonly #lifecycle = new StoreLifecycle(errors);
  #pending: PendingSave[] = [];

  constructor(options: SqliteStoreOptions = {}) {
    this.table = checkTableName(options.table ?? 'oauthtoken');
    const busyTimeoutMs = errors.integer(options.busyTimeoutMs, 'busyTimeoutMs', 0, 5000);
    const synchronous = errors.oneOf(options.synchronous, 'synchronous', ['NORMAL', 'FULL', 'EXTRA'], 'FULL');
    const mustExist = errors.boolean(options.mustExist, 'mustExist', false);
    this.#ownsDb = options.database === undefined;
    this.filename = options.database?.name ?? options.filename ?? 'zohooauth.db';
    try {
      this.#db = options.database ?? openDatabase(this.filename, mustExist);
    } catch (error) {
      throw errors.wrap(error, `cannot open ${JSON.stringify(this.filename)}`);
    }
    try {
      this.#db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      if (!this.#db.memory) this.#db.pragma('journal_mode = WAL');
      this.#db.pragma(`synchronous = ${synchronous}`);
      createSchema(this.#db, this.table);
      this.#statements = prepare(this.#db, this.table);
    } catch (error) {
      if (this.#ownsDb) this.#db.close();
      throw errors.wrap(error, 'cannot prepare the token table');
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
    this.lock = new SqliteLock(this.#db, this.table, () => this.#lifecycle.assertOpen());
  }

  async findToken(token: OAuthToken): Promise<OAuthToken | null> {
    this.#lifecycle.assertOpen();
    const snapshot = snapshotToken(token, 'findToken');
    const found = await findMatch(snapshot, (values) => this.#run(() => fetchCandidates(this.#statements, values)));
    return found && tokenFromRecord(found);
  }

  async saveToken(token: OAuthToken): Promise<void> {
    this.#lifecycle.assertOpen();
    const snapshot = snapshotToken(token, 'saveToken');
    token.id = await new Promise<string>((resolve, reject) => {
      if (this.#pending.push({ snapshot, resolve, reject }) === 1) setImmediate(() => this.#flush());
    });
  }

  async deleteToken(id: string): Promise<void> {
    this.#lifecycle.assertOpen();
    const key = checkId(id, 'deleteToken');
    if (key !== null) this.#run(() => this.#delete(key));
  }

  async getTokens(): Promise<OAuthToken[]> {
    this.#lifecycle.assertOpen();
    const rows = this.#run(() => this.#statements.all.all()) as Row[];
    return rows.map((row) => tokenFromRecord(rowToRecord(row)));
  }

  async deleteTokens(): Promise<void> {
    this.#lifecycle.assertOpen();
    this.#run(() => this.#delete(null));
  }

  async findTokenById(id: string): Promise<OAuthToken | null> {
    this.#lifecycle.assertOpen();
    const key = checkId(id, 'findTokenById');
    if (key === null) return null;
    const row = this.#run(() => this.#statements.byId.get(key)) as Row | undefined;
    return row ? tokenFromRecord(rowToRecord(row)) : null;
  }

  /** The database is opened and prepared by the constructor: resolves at once (STORE_CLOSED after `close()`); idempotent. */
  ready(): Promise<void> {
    return this.#lifecycle.run(async () => {});
  }

  /** Commits the saves already queued, then closes the database if the store opened it. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close(() => {
      this.#flush();
      if (this.#ownsDb) this.#db.close();
    });
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
      throw toStoreError(error);
    }
  }
}

/** A unique index refused the write: TOKEN_CONFLICT; anything else is a STORE_ERROR. */
function toStoreError(error: unknown, secrets: readonly string[] = []): ZohoTokenError {
  const code = (error as { code?: unknown } | null)?.code;
  if (!isZohoTokenError(error) && typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
    return errors.conflict(error, secrets);
  }
  return errors.wrap(error, 'operation failed', secrets);
}

interface PendingSave {
  snapshot: OAuthToken;
  resolve(id: string): void;
  reject(error: unknown): void;
  id?: string;
  error?: unknown;
}

function openDatabase(filename: string, mustExist: boolean): BetterSqlite3.Database {
  const Database = loadDriver<typeof BetterSqlite3>(
    'better-sqlite3',
    errors.name,
    'your own better-sqlite3 Database as `database`',
  );
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
      tightenFileModesSync([filename, `${filename}-wal`, `${filename}-shm`], errors.name);
    }
  }
  return new Database(filename);
}

function fetchCandidates(statements: ReturnType<typeof prepare>, v: LookupValues): TokenRecord[] {
  const rows = statements.candidates.all(v.id, v.userName, v.accessToken, v.grantToken, v.refreshToken) as Row[];
  return rows.map(rowToRecord);
}
