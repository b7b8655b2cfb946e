import { closeSync, existsSync, openSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { ErrorCode, ZohoTokenError } from '../../errors.js';
import type { StoreErrors } from '../kit/store-errors.js';
import { tightenFileModesSync } from '../file/file-mode.js';
import { betterSqlite3Connection, betterSqlite3Driver } from './sqlite-driver-better.js';
import { nodeSqliteConnection, nodeSqliteDriver } from './sqlite-driver-node.js';
import {
  SQLITE_DRIVERS,
  isBetterSqlite3Database,
  isMemoryName,
  isNodeSqliteDatabase,
  type SqliteConnection,
  type SqliteDriver,
  type SqliteDriverName,
} from './sqlite-driver.js';

/**
 * A database you opened yourself: a better-sqlite3 `Database` or a node:sqlite `DatabaseSync`
 * (told apart by their methods).
 */
export interface SqliteDatabase {
  /** Runs SQL without results (both drivers have it). */
  exec(sql: string): unknown;
  /** Compiles a statement (both drivers have it). */
  prepare(sql: string): unknown;
  /** Closes the database; the store never calls it on a database you passed. */
  close(): unknown;
}

/** What `connect` needs of the store's options, already checked. */
export interface ConnectOptions {
  filename: string;
  database: SqliteDatabase | undefined;
  driver: SqliteDriverName | undefined;
  mustExist: boolean;
}

/** The `driver` option: one of the names, or `undefined` for the default. */
export function checkDriver(errors: StoreErrors, driver: unknown): SqliteDriverName | undefined {
  return driver === undefined ? undefined : errors.oneOf(driver, 'driver', SQLITE_DRIVERS, 'node:sqlite');
}

/** The connection over `database` when given (never opened or closed here), else over `filename`. */
export function connect(errors: StoreErrors, options: ConnectOptions): SqliteConnection {
  const { database, driver } = options;
  if (database !== undefined) {
    const kind = isBetterSqlite3Database(database)
      ? 'better-sqlite3'
      : isNodeSqliteDatabase(database)
        ? 'node:sqlite'
        : undefined;
    if (kind === undefined) {
      throw errors.invalid('database', 'database must be a better-sqlite3 Database or a node:sqlite DatabaseSync');
    }
    if (driver !== undefined && driver !== kind) {
      throw errors.invalid('driver', `driver is '${driver}' but database is a ${kind} database`);
    }
    return kind === 'better-sqlite3'
      ? betterSqlite3Connection(database as Parameters<typeof betterSqlite3Connection>[0])
      : nodeSqliteConnection(database as Parameters<typeof nodeSqliteConnection>[0]);
  }
  return openFile(errors.name, pickDriver(errors.name, driver), options.filename, options.mustExist);
}

/** The chosen driver; by default node:sqlite where the runtime has it, else better-sqlite3. */
export function pickDriver(storeName: string, choice: SqliteDriverName | undefined): SqliteDriver {
  if (choice === 'better-sqlite3') return betterSqlite3Driver(storeName);
  const builtin = nodeSqliteDriver();
  if (builtin !== undefined) return builtin;
  if (choice === 'node:sqlite') {
    throw new ZohoTokenError(
      ErrorCode.DRIVER_MISSING,
      `${storeName}: driver 'node:sqlite' needs Node.js ≥ 22.13 (this runtime has no node:sqlite): ` +
        "use Node.js ≥ 22.13, or run `npm install better-sqlite3` and pass `driver: 'better-sqlite3'`",
    );
  }
  try {
    return betterSqlite3Driver(storeName);
  } catch (error) {
    throw new ZohoTokenError(
      ErrorCode.DRIVER_MISSING,
      `${storeName} needs SQLite, and this runtime has neither node:sqlite nor a working "better-sqlite3": ` +
        'use Node.js ≥ 22.13 (its built-in node:sqlite), or run `npm install better-sqlite3`',
      { cause: error },
    );
  }
}

function openFile(storeName: string, driver: SqliteDriver, filename: string, mustExist: boolean): SqliteConnection {
  if (isMemoryName(filename)) return driver.open(filename, { fileMustExist: false });
  if (mustExist) {
    try {
      return driver.open(filename, { fileMustExist: true });
    } catch (error) {
      if (existsSync(filename)) throw error;
      throw new ZohoTokenError(
        ErrorCode.STORE_NOT_FOUND,
        `the token store ${JSON.stringify(resolvePath(filename))} does not exist (a store opened to read is not created)`,
      );
    }
  }
  // Create the file ourselves so it is private from the first byte; SQLite gives its WAL and
  // shared-memory files the same mode as the database file.
  try {
    closeSync(openSync(filename, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // An existing file (and the WAL files SQLite gives its mode) may be readable by others.
    tightenFileModesSync([filename, `${filename}-wal`, `${filename}-shm`], storeName);
  }
  return driver.open(filename, { fileMustExist: false });
}
