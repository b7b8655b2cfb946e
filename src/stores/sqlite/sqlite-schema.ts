import { COLUMNS, EXTRA_COLUMNS } from '../kit/columns.js';
import type { SqliteConnection, SqliteStatement } from './sqlite-driver.js';

export const q = (identifier: string): string => `"${identifier}"`;

/**
 * `numericId` in SQL: 1 to 10 plain digits, else NULL. Not `CAST(id AS INTEGER)`, which reads
 * `" 9999999"` as 9999999 and `"12ab"` as 12, and so numbered differently from every other store.
 */
export const NUMERIC_ID = `(CASE WHEN length(id) BETWEEN 1 AND 10 AND id NOT GLOB '*[^0-9]*' THEN CAST(id AS INTEGER) END)`;

/** Creates the token, meta and index objects (and adds our columns to an official table). */
export function createSchema(db: SqliteConnection, table: string): void {
  const t = q(table);
  db.transaction((): void => {
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${t} (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), ` +
        `client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), ` +
        `expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), accounts_url varchar(255), ` +
        `primary key (id))`,
    );
    // A table made by the official SDKs (or the Python SDK's sample script) lacks our extra columns: add them after.
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
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${q(`${table}_lock`)} (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
    );
  }, 'immediate')();
}

/** The store's prepared statements. */
export type SqliteStatements = Record<
  | 'candidates'
  | 'byId'
  | 'all'
  | 'page'
  | 'insert'
  | 'update'
  | 'deleteById'
  | 'deleteAll'
  | 'largestId'
  | 'bumpLastId'
  | 'bumpLastIdToRow',
  SqliteStatement
>;

/**
 * Every statement of the store, prepared once. `largestId` answers one row `{ n }` (no driver-specific
 * `pluck`).
 */
export function prepare(db: SqliteConnection, table: string): SqliteStatements {
  const t = q(table);
  const meta = q(`${table}_meta`);
  const columns = COLUMNS.join(', ');
  return {
    candidates: db.prepare(
      `SELECT ${columns} FROM ${t} WHERE id = ? OR user_name = ? OR access_token = ? OR grant_token = ? OR refresh_token = ?`,
    ),
    byId: db.prepare(`SELECT ${columns} FROM ${t} WHERE id = ?`),
    all: db.prepare(`SELECT ${columns} FROM ${t} ORDER BY ${NUMERIC_ID} IS NULL, ${NUMERIC_ID}, id`),
    // Keyset paging on the primary key, in binary (code unit) order of the ids.
    page: db.prepare(`SELECT ${columns} FROM ${t} WHERE id > ? ORDER BY id LIMIT ?`),
    insert: db.prepare(`INSERT INTO ${t} (${columns}) VALUES (${COLUMNS.map(() => '?').join(', ')})`),
    update: db.prepare(
      `UPDATE ${t} SET ${COLUMNS.slice(1)
        .map((c) => `${c} = ?`)
        .join(', ')} WHERE id = ?`,
    ),
    deleteById: db.prepare(`DELETE FROM ${t} WHERE id = ?`),
    deleteAll: db.prepare(`DELETE FROM ${t}`),
    largestId: db.prepare(
      `SELECT max(coalesce((SELECT max(${NUMERIC_ID}) FROM ${t}), 0), ` +
        `coalesce((SELECT value FROM ${meta} WHERE name = 'last_id'), 0)) AS n`,
    ),
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
