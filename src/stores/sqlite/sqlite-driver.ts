/**
 * The few SQLite operations the store needs, shaped so that the built-in `node:sqlite` and the
 * `better-sqlite3` package both fit: the store core imports no driver type, only this file.
 */

/** Which SQLite binding a store runs on. */
export type SqliteDriverName = 'node:sqlite' | 'better-sqlite3';

/** The drivers, in the order the default picks them. */
export const SQLITE_DRIVERS: readonly SqliteDriverName[] = ['node:sqlite', 'better-sqlite3'];

/** A value bound to a `?` parameter (both drivers bind a JS number as a double, as SQLite's affinity then converts). */
export type SqliteValue = string | number | bigint | null | Uint8Array;

/** A row keyed by column name (node:sqlite's have a null prototype: read them by key only). */
export type SqliteRow = Record<string, unknown>;

/** A prepared statement, reused for every call. Both drivers' own statements have this shape. */
export interface SqliteStatement {
  run(...params: SqliteValue[]): { changes: number | bigint };
  /** The first row, or `undefined`. */
  get(...params: SqliteValue[]): SqliteRow | undefined;
  all(...params: SqliteValue[]): SqliteRow[];
}

/** One open database. */
export interface SqliteConnection {
  readonly driver: SqliteDriverName;
  /** The filename it was opened with (`':memory:'` for a private in-memory database). */
  readonly name: string;
  readonly inMemory: boolean;
  /** Runs one or more statements without parameters. */
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  /** Sets a pragma: `pragma('busy_timeout = 5000')`. */
  pragma(setting: string): void;
  /**
   * `fn` wrapped in a transaction: `BEGIN` (or `BEGIN IMMEDIATE`) … `COMMIT` at the top level, a
   * savepoint when called inside another transaction of this connection, so a nested failure rolls
   * back alone. A throw rolls back and is rethrown.
   */
  transaction<A extends unknown[], R>(fn: (...args: A) => R, mode?: 'deferred' | 'immediate'): (...args: A) => R;
  /**
   * SQLite's result code name of a driver error, as better-sqlite3 spells it (`'SQLITE_BUSY'`,
   * `'SQLITE_CONSTRAINT_UNIQUE'`), or `undefined` for an error that is not SQLite's.
   */
  errorCode(error: unknown): string | undefined;
  close(): void;
}

/** Options of `SqliteDriver.open`. */
export interface SqliteOpenOptions {
  /** Fail instead of creating a missing file. */
  fileMustExist: boolean;
}

/** Opens connections with one binding. */
export interface SqliteDriver {
  readonly name: SqliteDriverName;
  open(filename: string, options: SqliteOpenOptions): SqliteConnection;
}

/** Whether `filename` names a database that lives in memory only. */
export const isMemoryName = (filename: string): boolean => filename === ':memory:' || filename === '';

/** A better-sqlite3 `Database`, told apart from a node:sqlite `DatabaseSync` by the methods only it has. */
export function isBetterSqlite3Database(database: unknown): boolean {
  const db = database as { pragma?: unknown; transaction?: unknown } | null;
  return typeof db?.pragma === 'function' && typeof db.transaction === 'function';
}

/** A node:sqlite `DatabaseSync`: `exec` and `prepare`, and none of better-sqlite3's own methods. */
export function isNodeSqliteDatabase(database: unknown): boolean {
  const db = database as { exec?: unknown; prepare?: unknown } | null;
  return typeof db?.exec === 'function' && typeof db.prepare === 'function' && !isBetterSqlite3Database(database);
}
