import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../../errors.js';
import { loadDriver } from '../kit/load-driver.js';
import { isMemoryName, type SqliteConnection, type SqliteDriver, type SqliteStatement } from './sqlite-driver.js';

/** The parts of better-sqlite3's `Database` we use (typed here, so no declaration needs its types). */
interface BetterDatabase {
  readonly name: string;
  readonly memory: boolean;
  exec(sql: string): unknown;
  prepare(sql: string): SqliteStatement;
  pragma(setting: string): unknown;
  transaction(fn: (...args: never[]) => unknown): TransactionFunction;
  close(): unknown;
}

type TransactionFunction = ((...args: unknown[]) => unknown) & { immediate(...args: unknown[]): unknown };

type BetterConstructor = new (filename: string, options?: { fileMustExist?: boolean }) => BetterDatabase;

/**
 * Opens databases with the better-sqlite3 package, loaded here: DRIVER_MISSING when it is not
 * installed, or installed without a native addon this runtime can load.
 */
export function betterSqlite3Driver(storeName: string): SqliteDriver {
  const Database = loadBetterSqlite3(storeName);
  return {
    name: 'better-sqlite3',
    open: (filename, { fileMustExist }) => {
      const db =
        fileMustExist && !isMemoryName(filename) ? new Database(filename, { fileMustExist }) : new Database(filename);
      return betterSqlite3Connection(db);
    },
  };
}

function loadBetterSqlite3(storeName: string): BetterConstructor {
  try {
    const Database = loadDriver<BetterConstructor>(
      'better-sqlite3',
      storeName,
      "`driver: 'node:sqlite'` on Node.js ≥ 22.13",
    );
    // The package loads its native addon on the first open: try it before any file is made.
    new Database(':memory:').close();
    return Database;
  } catch (error) {
    if (isZohoTokenError(error)) throw error;
    // Installed with its build script blocked (pnpm, --ignore-scripts), or built for another Node.js.
    throw new ZohoTokenError(
      ErrorCode.DRIVER_MISSING,
      `${storeName}: the "better-sqlite3" package is installed but its native addon does not load: ` +
        'run `npm rebuild better-sqlite3` (under pnpm: `pnpm approve-builds`, then `pnpm rebuild better-sqlite3`), ' +
        'or use Node.js ≥ 22.13 and its built-in node:sqlite',
      { cause: error },
    );
  }
}

/** A connection over a better-sqlite3 `Database`. */
export function betterSqlite3Connection(db: BetterDatabase): SqliteConnection {
  return {
    driver: 'better-sqlite3',
    name: db.name,
    inMemory: db.memory,
    exec: (sql) => void db.exec(sql),
    prepare: (sql) => db.prepare(sql),
    pragma: (setting) => void db.pragma(setting),
    transaction: <A extends unknown[], R>(fn: (...args: A) => R, mode: 'deferred' | 'immediate' = 'deferred') => {
      const wrapped = db.transaction(fn as (...args: never[]) => unknown);
      return (mode === 'immediate' ? wrapped.immediate : wrapped) as (...args: A) => R;
    },
    errorCode: (error) => {
      const code = (error as { code?: unknown } | null)?.code;
      return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
    },
    close: () => void db.close(),
  };
}
