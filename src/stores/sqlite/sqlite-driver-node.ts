import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import {
  isMemoryName,
  type SqliteConnection,
  type SqliteDriver,
  type SqliteRow,
  type SqliteStatement,
} from './sqlite-driver.js';

/** The parts of node:sqlite's `DatabaseSync` we use (typed here: Node 20's types have no node:sqlite). */
interface DatabaseSync {
  exec(sql: string): void;
  prepare(sql: string): StatementSync;
  close(): void;
  /** Node ≥ 22.16 and 24. */
  readonly isTransaction?: boolean;
}

interface StatementSync extends SqliteStatement {
  setReadBigInts?(enabled: boolean): void;
  setReturnArrays?(enabled: boolean): void;
}

type DatabaseSyncConstructor = new (path: string | URL) => DatabaseSync;

interface NodeSqliteError {
  code?: unknown;
  errcode?: unknown;
}

/**
 * The built-in module, or `undefined` where the runtime has none (Node < 22.13 without its flag).
 * Loaded at call time, so that importing this file never fails on such a runtime.
 */
export function loadNodeSqlite(): { DatabaseSync: DatabaseSyncConstructor } | undefined {
  const builtin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof builtin === 'function') {
    return builtin('node:sqlite') as { DatabaseSync: DatabaseSyncConstructor } | undefined;
  }
  try {
    return createRequire(import.meta.url)('node:sqlite') as { DatabaseSync: DatabaseSyncConstructor };
  } catch {
    return undefined;
  }
}

/** Opens databases with the built-in node:sqlite; `undefined` where the runtime lacks it. */
export function nodeSqliteDriver(): SqliteDriver | undefined {
  const sqlite = loadNodeSqlite();
  if (sqlite === undefined) return undefined;
  return {
    name: 'node:sqlite',
    open: (filename, { fileMustExist }) => {
      // `mode=rw` makes SQLite refuse to create a missing file, as better-sqlite3's `fileMustExist`.
      const path =
        fileMustExist && !isMemoryName(filename) ? new URL(`${pathToFileURL(filename).href}?mode=rw`) : filename;
      return nodeSqliteConnection(new sqlite.DatabaseSync(path), filename);
    },
  };
}

/** A connection over a `DatabaseSync`; `filename` as it was opened, else read from the database. */
export function nodeSqliteConnection(db: DatabaseSync, filename?: string): SqliteConnection {
  const name = filename ?? mainFile(db);
  const control = (sql: string): (() => void) => {
    const statement = db.prepare(sql);
    return () => void statement.run();
  };
  const begin = control('BEGIN');
  const beginImmediate = control('BEGIN IMMEDIATE');
  const commit = control('COMMIT');
  const rollback = control('ROLLBACK');
  const savepoint = control('SAVEPOINT zts');
  const release = control('RELEASE zts');
  const rollbackTo = control('ROLLBACK TO zts');
  let depth = 0;
  // The connection's real state where the runtime tells it (a DatabaseSync passed in may already be
  // in a transaction, and SQLite ends one itself on some errors); else our own count.
  const inTransaction = (): boolean => (typeof db.isTransaction === 'boolean' ? db.isTransaction : depth > 0);

  return {
    driver: 'node:sqlite',
    name,
    inMemory: isMemoryName(name),
    exec: (sql) => db.exec(sql),
    prepare: (sql) => {
      const statement = db.prepare(sql);
      // Rows as objects and integers as numbers, whatever the DatabaseSync was opened with.
      statement.setReadBigInts?.(false);
      statement.setReturnArrays?.(false);
      return statement;
    },
    pragma: (setting) => db.exec(`PRAGMA ${setting}`),
    transaction:
      (fn, mode = 'deferred') =>
      (...args) => {
        if (inTransaction()) {
          savepoint();
          depth++;
          try {
            const result = fn(...args);
            release();
            return result;
          } catch (error) {
            if (inTransaction()) {
              rollbackTo();
              release();
            }
            throw error;
          } finally {
            depth--;
          }
        }
        if (mode === 'immediate') beginImmediate();
        else begin();
        depth = 1;
        try {
          const result = fn(...args);
          commit();
          return result;
        } catch (error) {
          // A failed body or COMMIT (busy, disk full) leaves nothing behind.
          if (inTransaction()) rollback();
          throw error;
        } finally {
          depth = 0;
        }
      },
    errorCode: sqliteCodeName,
    close: () => db.close(),
  };
}

/** The file of the `main` database (`':memory:'` for an in-memory one). */
function mainFile(db: DatabaseSync): string {
  const rows = db.prepare('PRAGMA database_list').all() as SqliteRow[];
  const file = rows.find((row) => row['name'] === 'main')?.['file'];
  return typeof file === 'string' && file !== '' ? file : ':memory:';
}

const PRIMARY = [
  'OK',
  'ERROR',
  'INTERNAL',
  'PERM',
  'ABORT',
  'BUSY',
  'LOCKED',
  'NOMEM',
  'READONLY',
  'INTERRUPT',
  'IOERR',
  'CORRUPT',
  'NOTFOUND',
  'FULL',
  'CANTOPEN',
  'PROTOCOL',
  'EMPTY',
  'SCHEMA',
  'TOOBIG',
  'CONSTRAINT',
  'MISMATCH',
  'MISUSE',
  'NOLFS',
  'AUTH',
  'FORMAT',
  'RANGE',
  'NOTADB',
  'NOTICE',
  'WARNING',
];

/** The extended codes whose names the store or a reader of its errors may care about. */
const EXTENDED: Readonly<Record<number, string>> = {
  261: 'BUSY_RECOVERY',
  517: 'BUSY_SNAPSHOT',
  773: 'BUSY_TIMEOUT',
  264: 'READONLY_RECOVERY',
  520: 'READONLY_CANTLOCK',
  776: 'READONLY_ROLLBACK',
  1032: 'READONLY_DBMOVED',
  275: 'CONSTRAINT_CHECK',
  787: 'CONSTRAINT_FOREIGNKEY',
  1299: 'CONSTRAINT_NOTNULL',
  1555: 'CONSTRAINT_PRIMARYKEY',
  1811: 'CONSTRAINT_TRIGGER',
  2067: 'CONSTRAINT_UNIQUE',
  2579: 'CONSTRAINT_ROWID',
  3091: 'CONSTRAINT_DATATYPE',
};

/** node:sqlite's errors carry `code: 'ERR_SQLITE_ERROR'` and SQLite's number as `errcode`: named as better-sqlite3 names it. */
export function sqliteCodeName(error: unknown): string | undefined {
  const { code, errcode } = (error ?? {}) as NodeSqliteError;
  if (code !== 'ERR_SQLITE_ERROR' || typeof errcode !== 'number') return undefined;
  const name = EXTENDED[errcode] ?? PRIMARY[errcode & 0xff];
  return name === undefined ? undefined : `SQLITE_${name}`;
}
