import { ErrorCode, ZohoTokenError } from '../../errors.js';
import { formatExpiry, parseExpiry, type TokenRecord } from '../../token/token-record.js';

/**
 * The official SDKs' `oauthtoken` columns, in their order (rows are read positionally by those
 * SDKs, so the order is part of the format), then the columns only we add.
 */
export const OFFICIAL_COLUMNS = [
  'id',
  'user_name',
  'client_id',
  'client_secret',
  'refresh_token',
  'access_token',
  'grant_token',
  'expiry_time',
  'redirect_url',
  'api_domain',
] as const;
export const EXTRA_COLUMNS = ['accounts_url'] as const;
export const COLUMNS = [...OFFICIAL_COLUMNS, ...EXTRA_COLUMNS] as const;
export type Column = (typeof COLUMNS)[number];

/** Values for `COLUMNS`, in order, ready to bind as parameters. */
export function recordToRow(record: TokenRecord): (string | null)[] {
  return [
    record.id,
    record.userName,
    record.clientId,
    record.clientSecret,
    record.refreshToken,
    record.accessToken,
    record.grantToken,
    formatExpiry(record.expiresAt),
    record.redirectUrl,
    record.apiDomain,
    record.accountsUrl,
  ];
}

function text(row: Record<string, unknown>, column: Column): string | null {
  const value = row[column];
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  throw new ZohoTokenError(ErrorCode.CORRUPT_RECORD, `Column ${column} holds a ${typeof value}, not text`);
}

/** A row keyed by column name (missing extra columns read as null) back into a record. */
export function rowToRecord(row: Record<string, unknown>): TokenRecord {
  const id = text(row, 'id');
  if (id === null) throw new ZohoTokenError(ErrorCode.CORRUPT_RECORD, 'A stored token has no id');
  return {
    id,
    userName: text(row, 'user_name'),
    clientId: text(row, 'client_id'),
    clientSecret: text(row, 'client_secret'),
    refreshToken: text(row, 'refresh_token'),
    accessToken: text(row, 'access_token'),
    grantToken: text(row, 'grant_token'),
    expiresAt: parseExpiry(row['expiry_time'], id),
    redirectUrl: text(row, 'redirect_url'),
    apiDomain: text(row, 'api_domain'),
    accountsUrl: text(row, 'accounts_url'),
  };
}

/** Table names are identifiers we quote ourselves, so only a safe alphabet is accepted. */
export function checkTableName(table: unknown): string {
  if (typeof table !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      'The table name must be 1-63 characters of letters, digits and underscores, starting with a letter or underscore',
      { field: 'table' },
    );
  }
  return table;
}
