import type { StoreInspection } from '../kit/store-inspection.js';
import { storeErrors } from '../kit/store-errors.js';
import { connect } from './sqlite-connect.js';
import type { SqliteDriverName } from './sqlite-driver.js';
import { q } from './sqlite-schema.js';

/**
 * Reads the token and lock tables of a SQLite store through a second connection, changing nothing
 * (the store's own connection is private). Lease ends are compared with this machine's clock, as
 * the store's locks do.
 */
export function inspectSqlite(filename: string, driver: SqliteDriverName, table: string): StoreInspection {
  const db = connect(storeErrors('SqliteStore'), { filename, database: undefined, driver, mustExist: true });
  try {
    const columnsOf = (name: string): string[] =>
      (db.prepare(`PRAGMA table_info(${q(name)})`).all() as { name: string }[]).map((c) => c.name);
    const lockColumns = columnsOf(`${table}_lock`);
    const now = Date.now();
    const rows = lockColumns.includes('expires_at')
      ? (db.prepare(`SELECT name, expires_at FROM ${q(`${table}_lock`)}`).all() as {
          name: string;
          expires_at: number | bigint;
        }[])
      : [];
    return {
      columns: columnsOf(table),
      lockColumns,
      locks: rows.length,
      expiredLocks: rows
        .filter((r) => Number(r.expires_at) <= now)
        .map((r) => ({ name: String(r.name), expiredForMs: now - Number(r.expires_at) })),
    };
  } finally {
    db.close();
  }
}
