import { COLUMNS } from '../kit/columns.js';

/** Suffixes of the index names, added to the table name. */
export const INDEX_SUFFIXES = ['_refresh_token', '_grant_token', '_client_user', '_access_token', '_id_number'];

/** Identifiers come only from validated names; quoted (and escaped) all the same. */
const q = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;

/** The numeric value of an id (null for other ids); indexed, so the largest is one index probe. */
const NUMERIC_ID = `(CASE WHEN id ~ '^[0-9]{1,10}$' THEN id::bigint END)`;

/**
 * Every statement, built once. B-tree entries are limited to about 2.7 kB, so the token columns
 * are indexed by `md5(column)`, and each lookup compares both the hash (to use the index) and the
 * value (to be exact).
 */
export function statements(table: string, schema: string | undefined) {
  const at = (name: string): string => (schema === undefined ? q(name) : `${q(schema)}.${q(name)}`);
  const t = at(table);
  const meta = at(`${table}_meta`);
  const lockTable = at(`${table}_lock`);
  const columns = COLUMNS.join(', ');
  const hashed = (column: string, param: string): string => `(md5(${column}) = md5(${param}) AND ${column} = ${param})`;
  const hashedAny = (column: string, param: string): string =>
    `(md5(${column}) = ANY(ARRAY(SELECT md5(v) FROM unnest(${param}::text[]) AS v)) AND ${column} = ANY(${param}::text[]))`;
  const candidates =
    `SELECT ${columns} FROM ${t} WHERE id = $1 OR ${hashed('user_name', '$2')} OR ${hashed('access_token', '$3')} ` +
    `OR ${hashed('grant_token', '$4')} OR ${hashed('refresh_token', '$5')}`;
  // Unqualified index names resolve like the table's: indexes live in the schema of their table.
  const indexes = INDEX_SUFFIXES.map((suffix) => at(`${table}${suffix}`));
  return {
    qualified: `${schema ?? ''}.${table}`,
    tableName: t,
    objects: [t, meta, lockTable, ...indexes],
    schemaReady:
      `SELECT (SELECT count(*) FROM unnest($1::text[]) AS o(name) WHERE to_regclass(o.name) IS NOT NULL) = cardinality($1::text[]) ` +
      `AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($2) AND attname = 'accounts_url' AND NOT attisdropped) AS ready`,
    lockTable,
    ddl: [
      `CREATE TABLE IF NOT EXISTS ${t} (id varchar(10) NOT NULL, user_name text, client_id text, client_secret text, ` +
        `refresh_token text, access_token text, grant_token text, expiry_time varchar(20), redirect_url text, ` +
        `api_domain text, accounts_url text, PRIMARY KEY (id))`,
      // A table made by the official SDKs lacks our extra column: added after theirs.
      `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS accounts_url text`,
      `CREATE UNIQUE INDEX IF NOT EXISTS ${q(`${table}_refresh_token`)} ON ${t} (md5(refresh_token))`,
      `CREATE UNIQUE INDEX IF NOT EXISTS ${q(`${table}_grant_token`)} ON ${t} (md5(grant_token))`,
      // As the matching rules: a user appears once per client id, a missing client id counting as
      // one value (md5 is never ''); rows without a user name are not constrained (NULLs distinct).
      `CREATE UNIQUE INDEX IF NOT EXISTS ${q(`${table}_client_user`)} ON ${t} (md5(user_name), (coalesce(md5(client_id), '')))`,
      `CREATE INDEX IF NOT EXISTS ${q(`${table}_access_token`)} ON ${t} (md5(access_token))`,
      `CREATE INDEX IF NOT EXISTS ${q(`${table}_id_number`)} ON ${t} (${NUMERIC_ID})`,
      // Highest id ever handed out, so a deleted token's id is never given to another user.
      `CREATE TABLE IF NOT EXISTS ${meta} (name varchar(32) PRIMARY KEY, value bigint NOT NULL)`,
      `INSERT INTO ${meta} (name, value) VALUES ('last_id', 0) ON CONFLICT (name) DO NOTHING`,
      `CREATE TABLE IF NOT EXISTS ${lockTable} (name text PRIMARY KEY, owner text NOT NULL, expires_at timestamptz NOT NULL)`,
    ],
    candidates,
    candidatesForUpdate: `${candidates} FOR UPDATE`,
    // A batch's candidates at once: each parameter an array; md5 of the values computed once.
    candidatesOfBatch:
      `SELECT ${columns} FROM ${t} WHERE id = ANY($1::text[]) OR ${hashedAny('user_name', '$2')} ` +
      `OR ${hashedAny('access_token', '$3')} OR ${hashedAny('grant_token', '$4')} OR ${hashedAny('refresh_token', '$5')} FOR UPDATE`,
    insertMany: `INSERT INTO ${t} (${columns}) SELECT * FROM unnest(${COLUMNS.map((_, i) => `$${i + 1}::text[]`).join(', ')})`,
    // Keyset paging on the primary key, in the id column's order.
    page: `SELECT ${columns} FROM ${t} WHERE id > $1 ORDER BY id LIMIT $2`,
    byId: `SELECT ${columns} FROM ${t} WHERE id = $1`,
    byIds: `SELECT ${columns} FROM ${t} WHERE id = ANY($1::text[])`,
    all: `SELECT ${columns} FROM ${t} ORDER BY ${NUMERIC_ID}, id`,
    insert:
      `INSERT INTO ${t} (${columns}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) ` +
      `ON CONFLICT DO NOTHING`,
    update: `UPDATE ${t} SET ${COLUMNS.slice(1)
      .map((c, i) => `${c} = $${i + 1}`)
      .join(', ')} WHERE id = $${COLUMNS.length}`,
    // A deleted id joins the high-water mark in the same statement, so it is never handed out again
    // (rows an official SDK inserted included).
    deleteById:
      `WITH gone AS (DELETE FROM ${t} WHERE id = $1 RETURNING ${NUMERIC_ID} AS n) ` +
      `UPDATE ${meta} SET value = greatest(value, (SELECT coalesce(max(n), 0) FROM gone)) WHERE name = 'last_id'`,
    deleteAll:
      `WITH gone AS (DELETE FROM ${t} RETURNING ${NUMERIC_ID} AS n) ` +
      `UPDATE ${meta} SET value = greatest(value, (SELECT coalesce(max(n), 0) FROM gone)) WHERE name = 'last_id'`,
    // Upsert rather than SELECT … FOR UPDATE: locks the row, and recreates it if someone deleted it.
    lockHighWater:
      `INSERT INTO ${meta} AS m (name, value) VALUES ('last_id', 0) ` +
      `ON CONFLICT (name) DO UPDATE SET value = m.value RETURNING value`,
    largestId: `SELECT max(${NUMERIC_ID}) AS largest FROM ${t}`,
    bumpHighWater: `UPDATE ${meta} SET value = greatest(value, $1) WHERE name = 'last_id'`,
  };
}
