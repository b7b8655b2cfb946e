import { createRequire } from 'node:module';
import type { SqliteDatabase, SqliteDriverName } from 'zoho-token-store';

const require = createRequire(import.meta.url);

type Row = Record<string, unknown>;

/** A database opened directly (not through a store), to set up or inspect files in tests. */
export interface RawDatabase {
  /** The driver's own object, to pass as a store's `database`. */
  readonly native: SqliteDatabase;
  exec(sql: string): void;
  run(sql: string, ...params: unknown[]): void;
  all(sql: string, ...params: unknown[]): Row[];
  /** The first column of the first row (`undefined` when there is none). */
  value(sql: string, ...params: unknown[]): unknown;
  close(): void;
}

interface Statement {
  run(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

interface NativeDatabase extends SqliteDatabase {
  prepare(sql: string): Statement;
  exec(sql: string): unknown;
}

type Opener = (filename: string, readonly: boolean) => NativeDatabase;

function nodeSqlite(): Opener | undefined {
  const sqlite = process.getBuiltinModule?.('node:sqlite') as
    { DatabaseSync: new (path: string, options: { readOnly: boolean }) => NativeDatabase } | undefined;
  return sqlite && ((filename, readOnly) => new sqlite.DatabaseSync(filename, { readOnly }));
}

function betterSqlite3(): Opener | undefined {
  try {
    const Database = require('better-sqlite3') as new (
      filename: string,
      options: { readonly: boolean },
    ) => NativeDatabase;
    // Loading the addon is what fails on another Node.js ABI: try it once here.
    new Database(':memory:', { readonly: false }).close();
    return (filename, readonly) => new Database(filename, { readonly });
  } catch {
    return undefined;
  }
}

const OPENERS: Record<SqliteDriverName, Opener | undefined> = {
  'node:sqlite': nodeSqlite(),
  'better-sqlite3': betterSqlite3(),
};

/** The SQLite drivers this runtime can run, the default's first. */
export const SQLITE_DRIVERS = (['node:sqlite', 'better-sqlite3'] as const).filter((d) => OPENERS[d] !== undefined);

/** Why a test needing `driver` is skipped here, or `false` when it can run. */
export function skipUnless(driver: SqliteDriverName): string | false {
  if (OPENERS[driver] !== undefined) return false;
  return driver === 'node:sqlite'
    ? `node:sqlite needs Node.js ≥ 22.13 (this is ${process.version})`
    : `better-sqlite3 does not load on this runtime (${process.version}: not installed, or built for another Node.js ABI)`;
}

/** Opens `filename` with `driver` directly. */
export function openRaw(driver: SqliteDriverName, filename: string, options: { readonly?: boolean } = {}): RawDatabase {
  const open = OPENERS[driver];
  if (open === undefined) throw new Error(skipUnless(driver) || driver);
  const db = open(filename, options.readonly ?? false);
  return {
    native: db,
    exec: (sql) => void db.exec(sql),
    run: (sql, ...params) => void db.prepare(sql).run(...params),
    all: (sql, ...params) => db.prepare(sql).all(...params) as Row[],
    value: (sql, ...params) => {
      const row = db.prepare(sql).all(...params)[0] as Row | undefined;
      return row === undefined ? undefined : Object.values(row)[0];
    },
    close: () => void db.close(),
  };
}

/** Opens `filename` directly with the runtime's default SQLite driver (node:sqlite where it exists). */
export function openRawDefault(filename: string, options: { readonly?: boolean } = {}): RawDatabase {
  return openRaw(SQLITE_DRIVERS[0]!, filename, options);
}
