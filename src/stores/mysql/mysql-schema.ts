import type { LookupValues } from '../kit/matching.js';
import { COLUMNS, type Column } from '../kit/columns.js';
import { MAX_LOCK_NAME_LENGTH } from './mysql-lock.js';

export const quote = (identifier: string): string => `\`${identifier}\``;

/** The lookup of each candidate value: ids by primary key, the rest by their SHA-256 column. */
const sha = (expression: string): string => `UNHEX(SHA2(CONVERT(${expression} USING utf8mb4), 256))`;
export const LOOKUPS: readonly (readonly [keyof LookupValues, string])[] = [
  ['id', 'id = ?'],
  ['userName', `user_name_sha256 = ${sha('?')}`],
  ['accessToken', `access_token_sha256 = ${sha('?')}`],
  ['grantToken', `grant_token_sha256 = ${sha('?')}`],
  ['refreshToken', `refresh_token_sha256 = ${sha('?')}`],
];

/**
 * Types of the columns when WE create the table: mediumtext holds any token value whole (the
 * official varchar(255) truncates or refuses long ones); utf8mb4_bin keeps values byte-exact.
 */
export const COLUMN_TYPES: Record<Column, string> = {
  id: 'varchar(10) NOT NULL',
  user_name: 'mediumtext',
  client_id: 'mediumtext',
  client_secret: 'mediumtext',
  refresh_token: 'mediumtext',
  access_token: 'mediumtext',
  grant_token: 'mediumtext',
  expiry_time: 'varchar(20)',
  redirect_url: 'mediumtext',
  api_domain: 'mediumtext',
  accounts_url: 'mediumtext',
};

/**
 * Invisible generated columns (so the official SDKs' `select *` still reads its 10 columns first):
 * the numeric id for the next id, and SHA-256 digests of the lookup columns. Unique indexes on
 * the digests are exact and case-sensitive whatever the column's collation or length, and lookups
 * use them as indexes; `matching.ts` re-checks every candidate exactly.
 */
export const GENERATED: readonly (readonly [name: string, ddl: string])[] = [
  [
    'id_number',
    "bigint unsigned GENERATED ALWAYS AS (IF(id REGEXP '^[0-9]{1,10}$', CAST(id AS UNSIGNED), NULL)) STORED INVISIBLE",
  ],
  ...(['user_name', 'client_id', 'access_token', 'grant_token', 'refresh_token'] as const).map(
    (column) => [`${column}_sha256`, `binary(32) GENERATED ALWAYS AS (${sha(column)}) STORED INVISIBLE`] as const,
  ),
];
export const INDEXES: readonly (readonly [name: string, ddl: string])[] = [
  ['id_number_order', 'KEY id_number_order (id_number)'],
  ['client_user_unique', 'UNIQUE KEY client_user_unique (user_name_sha256, client_id_sha256)'],
  ['grant_token_unique', 'UNIQUE KEY grant_token_unique (grant_token_sha256)'],
  ['refresh_token_unique', 'UNIQUE KEY refresh_token_unique (refresh_token_sha256)'],
  ['access_token_lookup', 'KEY access_token_lookup (access_token_sha256)'],
];
export const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/** Every statement of the store, built once per table. */
export function statements(table: string) {
  const t = quote(table);
  const meta = quote(`${table}_meta`);
  const columns = COLUMNS.join(', ');
  const select = `SELECT ${columns} FROM ${t}`;
  return {
    select,
    byId: `${select} WHERE id = ?`,
    // Keyset paging on the primary key, in the id column's order.
    page: `${select} WHERE id > ? ORDER BY id LIMIT ?`,
    all: `${select} ORDER BY id_number IS NULL, id_number, id`,
    insert: `INSERT INTO ${t} (${columns}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
    update: `UPDATE ${t} SET ${COLUMNS.slice(1)
      .map((c) => `${c} = ?`)
      .join(', ')} WHERE id = ?`,
    // `=` ignores trailing spaces: the binary comparison keeps the delete to the exact id.
    deleteById: `DELETE FROM ${t} WHERE id = ? AND CAST(CONVERT(id USING utf8mb4) AS BINARY) = CAST(CONVERT(? USING utf8mb4) AS BINARY)`,
    deleteAll: `DELETE FROM ${t}`,
    lockMeta: `INSERT INTO ${meta} (name, value) VALUES ('last_id', 0) ON DUPLICATE KEY UPDATE value = value`,
    // The high-water mark keeps deleted ids from coming back; MAX covers rows other writers made.
    largestId:
      `SELECT GREATEST(COALESCE((SELECT MAX(id_number) FROM ${t}), 0), ` +
      `COALESCE((SELECT value FROM ${meta} WHERE name = 'last_id'), 0)) AS largest`,
    bumpLastId: `INSERT INTO ${meta} (name, value) VALUES ('last_id', ?) ON DUPLICATE KEY UPDATE value = GREATEST(value, ?)`,
    bumpLastIdTo:
      `INSERT INTO ${meta} (name, value) SELECT 'last_id', COALESCE(MAX(id_number), 0) FROM ${t} WHERE id = ? ` +
      `AND CAST(CONVERT(id USING utf8mb4) AS BINARY) = CAST(CONVERT(? USING utf8mb4) AS BINARY) ` +
      `ON DUPLICATE KEY UPDATE value = GREATEST(${meta}.value, VALUES(value))`,
    bumpLastIdToMax:
      `INSERT INTO ${meta} (name, value) SELECT 'last_id', COALESCE(MAX(id_number), 0) FROM ${t} ` +
      `ON DUPLICATE KEY UPDATE value = GREATEST(${meta}.value, VALUES(value))`,
  };
}

/** The lock table's DDL, created beside the token table. */
export function lockTableDdl(lockTable: string): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${lockTable} (name varchar(${MAX_LOCK_NAME_LENGTH}) NOT NULL, ` +
    'owner char(36) NOT NULL, expires_at bigint NOT NULL, PRIMARY KEY (name)) ' +
    'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin'
  );
}
