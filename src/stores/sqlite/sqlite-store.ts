/**
 * `zoho-token-store/sqlite`: {@link SqliteStore}, the embedded default store: one SQLite file
 * shared by the processes of one machine, on `node:sqlite` or `better-sqlite3`. Drivers, options,
 * schema, locking and limits: docs/stores/sqlite.md.
 *
 * @packageDocumentation
 */
import { resolve } from 'node:path';
import { isZohoTokenError, type ZohoTokenError } from '../../errors.js';
import type { OAuthToken } from '../../token/oauth-token.js';
import { tokenFromRecord, type TokenRecord } from '../../token/token-record.js';
import { checkId, findMatch, nextId, numericId, planSave, snapshotToken, type LookupValues } from '../kit/matching.js';
import { checkTableName, recordToRow, rowToRecord } from '../kit/columns.js';
import { secretsOf, storeErrors } from '../kit/store-errors.js';
import { StoreLifecycle } from '../kit/store-lifecycle.js';
import type { StoreLock, TokenStore } from '../kit/token-store.js';
import {
  assignIds,
  checkBatchSize,
  checkIds,
  keysetPages,
  snapshotBatch,
  type IterateTokensOptions,
} from '../kit/store-paging.js';
import { checkDriver, connect, type SqliteDatabase } from './sqlite-connect.js';
import { isMemoryName, type SqliteConnection, type SqliteDriverName, type SqliteRow } from './sqlite-driver.js';
import { SqliteLock } from './sqlite-lock.js';
import { LockWaiter } from '../kit/lock-waiter.js';
import { processWaiter } from '../kit/process-waiters.js';
import { createSchema, prepare, type SqliteStatements } from './sqlite-schema.js';

export { NUMERIC_ID } from './sqlite-schema.js';
export type { SqliteDatabase } from './sqlite-connect.js';
export type { SqliteDriverName } from './sqlite-driver.js';

const errors = storeErrors('SqliteStore');

/** Options of {@link SqliteStore}; every one has a default. */
export interface SqliteStoreOptions {
  /**
   * Path of the database file (created with mode 0600 when missing), or `':memory:'`.
   * @default 'zohooauth.db'
   */
  filename?: string;
  /**
   * A database you opened yourself: a better-sqlite3 `Database` or a node:sqlite `DatabaseSync`
   * (the store tells which). The store uses it as is and never closes it; `filename` is then ignored.
   */
  database?: SqliteDatabase;
  /**
   * The SQLite binding: the built-in `node:sqlite` (Node.js ≥ 22.13, no native addon) or the
   * `better-sqlite3` package (install it yourself). Both read and write the same file format.
   * DRIVER_MISSING when the chosen one is not there.
   * @default 'node:sqlite' where the runtime has it, else 'better-sqlite3'
   */
  driver?: SqliteDriverName;
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

/**
 * The embedded default store: one SQLite file (or `:memory:`) that several processes can share.
 * WAL journal, a busy timeout, every save in an IMMEDIATE transaction (so concurrent processes
 * serialize their read-plan-write), every value a bound parameter, every lookup column indexed.
 */
export class SqliteStore implements TokenStore {
  /** The token table's name (`table` option). */
  readonly table: string;
  /**
   * The database file: `filename` as given or, for a `database` you passed, the file it was opened
   * on; `':memory:'` for an in-memory database.
   */
  readonly filename: string;
  /** The SQLite binding in use. */
  readonly driver: SqliteDriverName;
  /**
   * Leased locks in a side table of the same database (`<table>_lock`), so that every process
   * sharing the file agrees: taking one inserts a row only when no unexpired row holds the name,
   * inside an IMMEDIATE transaction; releasing deletes the row only if this owner still holds it.
   * Leases use the machine's wall clock, which all processes sharing a local file agree on.
   */
  readonly lock: StoreLock;
  readonly #db: SqliteConnection;
  readonly #ownsDb: boolean;
  readonly #statements: SqliteStatements;
  readonly #saveOne: (token: OAuthToken) => string;
  readonly #saveBatch: (batch: PendingSave[]) => void;
  readonly #readMany: (keys: (string | null)[]) => (SqliteRow | undefined)[];
  readonly #saveMany: (snapshots: OAuthToken[]) => { ids: string[]; error?: unknown };
  readonly #delete: (id: string | null) => void;
  readonly #lifecycle = new StoreLifecycle(errors);
  #pending: PendingSave[] = [];

  /**
   * Opens the database now (creating the file, mode 0600, unless `mustExist`) and prepares the
   * table: a SQLite store is ready when constructed.
   *
   * @throws `ZohoTokenError`: `INVALID_ARGUMENT` for a bad option (`field` names it);
   *   `DRIVER_MISSING` when the chosen or only driver is not there; `STORE_NOT_FOUND` for a missing
   *   file with `mustExist`; `STORE_ERROR` when the database cannot be opened or prepared.
   */
  constructor(options: SqliteStoreOptions = {}) {
    this.table = checkTableName(options.table ?? 'oauthtoken');
    const busyTimeoutMs = errors.integer(options.busyTimeoutMs, 'busyTimeoutMs', 0, 5000);
    const synchronous = errors.oneOf(options.synchronous, 'synchronous', ['NORMAL', 'FULL', 'EXTRA'], 'FULL');
    const mustExist = errors.boolean(options.mustExist, 'mustExist', false);
    const driver = checkDriver(errors, options.driver);
    const database = options.database;
    this.#ownsDb = database === undefined;
    const filename = options.filename ?? 'zohooauth.db';
    try {
      this.#db = connect(errors, { filename, database, driver, mustExist });
    } catch (error) {
      throw errors.wrap(error, `cannot open ${JSON.stringify(filename)}`);
    }
    this.filename = this.#db.name;
    this.driver = this.#db.driver;
    try {
      this.#db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      if (!this.#db.inMemory) this.#db.pragma('journal_mode = WAL');
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
        record.id = nextId(largestId(statements));
      }
      statements.insert.run(...recordToRow(record));
      const numeric = numericId(record.id);
      if (numeric !== null) statements.bumpLastId.run(numeric);
      return record.id;
    });
    // Group commit: saves that arrive together share one IMMEDIATE transaction and one fsync.
    // Each runs in its own savepoint (a nested transaction), so a refused save rolls back alone
    // and the others still commit.
    this.#saveBatch = this.#db.transaction((batch: PendingSave[]) => {
      for (const item of batch) {
        try {
          item.id = this.#saveOne(item.snapshot);
        } catch (error) {
          item.error = error;
        }
      }
    }, 'immediate');
    // A batch: each save in its own savepoint; the first refusal stops it, the saves before commit.
    this.#saveMany = this.#db.transaction((snapshots: OAuthToken[]) => {
      const ids: string[] = [];
      for (const snapshot of snapshots) {
        try {
          ids.push(this.#saveOne(snapshot));
        } catch (error) {
          return { ids, error };
        }
      }
      return { ids };
    }, 'immediate');
    // One read transaction: every row of the lookup from the same snapshot.
    this.#readMany = this.#db.transaction((keys: (string | null)[]) =>
      keys.map((key) => (key === null ? undefined : statements.byId.get(key))),
    );
    // Deletes one row (or all): the largest id first joins the high-water mark, so it is never handed out again.
    this.#delete = this.#db.transaction((id: string | null) => {
      // Only a row that is there raises the mark: deleting an unknown id must not move the numbering.
      if (id === null) {
        statements.bumpLastId.run(largestId(statements) ?? 0);
        statements.deleteAll.run();
      } else {
        statements.bumpLastIdToRow.run(id);
        statements.deleteById.run(id);
      }
    }, 'immediate');
    // A file shared by stores of this process: they wake each other's waiters (an in-memory
    // database is this store's alone).
    const waiter = isMemoryName(this.filename)
      ? new LockWaiter(undefined)
      : processWaiter(`${resolve(this.filename)}\u0000${this.table}`);
    this.lock = new SqliteLock(this.#db, this.table, () => this.#lifecycle.assertOpen(), waiter);
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

  /**
   * Saves the tokens in order as `saveToken` would, in one IMMEDIATE transaction (one fsync). On a
   * refusal, the tokens before it are committed and the rest are not.
   */
  async saveTokens(tokens: readonly OAuthToken[]): Promise<void> {
    this.#lifecycle.assertOpen();
    const snapshots = snapshotBatch(tokens);
    // Saves queued by saveToken go first, so the order of calls is kept.
    this.#flush();
    let outcome: { ids: string[]; error?: unknown };
    try {
      outcome = this.#saveMany(snapshots);
    } catch (error) {
      throw toStoreError(error, this.#db.errorCode(error));
    }
    assignIds(tokens, outcome.ids);
    if ('error' in outcome) {
      const error = outcome.error;
      throw toStoreError(error, this.#db.errorCode(error), secretsOf(snapshots[outcome.ids.length]!));
    }
  }

  /** The tokens with these ids, in that order (`null` where none), read in one transaction. */
  async findTokensById(ids: readonly string[]): Promise<(OAuthToken | null)[]> {
    this.#lifecycle.assertOpen();
    const keys = checkIds(ids);
    const rows = this.#run(() => this.#readMany(keys));
    return rows.map((row) => (row ? tokenFromRecord(rowToRecord(row)) : null));
  }

  /** Every token, page by page, in id order; see {@link TokenStore.iterateTokens}. */
  async *iterateTokens(options?: IterateTokensOptions): AsyncGenerator<OAuthToken[]> {
    this.#lifecycle.assertOpen();
    const size = checkBatchSize(options);
    yield* keysetPages(size, async (after, limit) => {
      this.#lifecycle.assertOpen();
      const rows = this.#run(() => this.#statements.page.all(after ?? '', limit));
      return rows.map((row) => tokenFromRecord(rowToRecord(row)));
    });
  }

  async deleteToken(id: string): Promise<void> {
    this.#lifecycle.assertOpen();
    const key = checkId(id, 'deleteToken');
    if (key !== null) this.#run(() => this.#delete(key));
  }

  async getTokens(): Promise<OAuthToken[]> {
    this.#lifecycle.assertOpen();
    const rows = this.#run(() => this.#statements.all.all());
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
    // The hot path: the statement called directly, no closure per lookup.
    let row: SqliteRow | undefined;
    try {
      row = this.#statements.byId.get(key);
    } catch (error) {
      throw toStoreError(error, this.#db.errorCode(error));
    }
    return row ? tokenFromRecord(rowToRecord(row)) : null;
  }

  /** The database is opened and prepared by the constructor: resolves at once (STORE_CLOSED after `close()`); idempotent. */
  ready(): Promise<void> {
    return this.#lifecycle.run(async () => {});
  }

  /** `close()`, for `await using store = …`: the store is closed when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Commits the saves already queued, then closes the database if the store opened it. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close(() => {
      this.#flush();
      if (this.#ownsDb) this.#db.close();
    });
  }

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
      else item.reject(toStoreError(item.error, this.#db.errorCode(item.error), secretsOf(item.snapshot)));
    }
  }

  #run<T>(operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      throw toStoreError(error, this.#db.errorCode(error));
    }
  }
}

/** A unique index refused the write: TOKEN_CONFLICT; anything else is a STORE_ERROR. */
function toStoreError(error: unknown, sqliteCode: string | undefined, secrets: readonly string[] = []): ZohoTokenError {
  if (!isZohoTokenError(error) && sqliteCode?.startsWith('SQLITE_CONSTRAINT') === true) {
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

/** The highest id handed out so far (the `largestId` statement's one value). */
function largestId(statements: SqliteStatements): number | null {
  const n = statements.largestId.get()?.['n'];
  return n === undefined || n === null ? null : Number(n);
}

function fetchCandidates(statements: SqliteStatements, v: LookupValues): TokenRecord[] {
  const rows: SqliteRow[] = statements.candidates.all(v.id, v.userName, v.accessToken, v.grantToken, v.refreshToken);
  return rows.map(rowToRecord);
}
