import { ErrorCode, ZohoTokenError } from '../errors.js';
import { OAuthToken } from './oauth-token.js';
import { UserSignature } from './user-signature.js';

/** A stored token: every field present, `null` where empty. What backends read and write. */
export interface TokenRecord {
  /** The store's id: a decimal number of at most 10 digits. */
  id: string;
  /** The user's name (email): {@link OAuthToken.userName}. */
  userName: string | null;
  /** {@link OAuthToken.clientId} */
  clientId: string | null;
  /** {@link OAuthToken.clientSecret} */
  clientSecret: string | null;
  /** {@link OAuthToken.refreshToken} */
  refreshToken: string | null;
  /** {@link OAuthToken.accessToken} */
  accessToken: string | null;
  /** {@link OAuthToken.grantToken} */
  grantToken: string | null;
  /** Absolute expiry of the access token, epoch milliseconds. */
  expiresAt: number | null;
  /** {@link OAuthToken.redirectUrl} */
  redirectUrl: string | null;
  /** {@link OAuthToken.apiDomain} */
  apiDomain: string | null;
  /** {@link OAuthToken.accountsUrl}: the data center the token is bound to. */
  accountsUrl: string | null;
}

/** Record fields in the official SDKs' column order, then ours. */
export const RECORD_FIELDS = [
  'id',
  'userName',
  'clientId',
  'clientSecret',
  'refreshToken',
  'accessToken',
  'grantToken',
  'expiresAt',
  'redirectUrl',
  'apiDomain',
  'accountsUrl',
] as const satisfies readonly (keyof TokenRecord)[];

/**
 * The {@link OAuthToken} of a stored record.
 *
 * @throws `ZohoTokenError` `CORRUPT_RECORD` (the cause says which rule failed) when the record
 *   is not a valid token.
 */
export function tokenFromRecord(record: TokenRecord): OAuthToken {
  try {
    return new OAuthToken({
      id: record.id,
      userSignature: record.userName === null ? null : new UserSignature(record.userName),
      clientId: record.clientId,
      clientSecret: record.clientSecret,
      refreshToken: record.refreshToken,
      accessToken: record.accessToken,
      grantToken: record.grantToken,
      expiresAt: record.expiresAt,
      redirectUrl: record.redirectUrl,
      apiDomain: record.apiDomain,
      accountsUrl: record.accountsUrl,
    });
  } catch (error) {
    // The stored row is at fault, not the caller; name the row, never its values.
    throw new ZohoTokenError(
      ErrorCode.CORRUPT_RECORD,
      `Stored token ${JSON.stringify(record.id)} is not a valid token`,
      {
        cause: error,
      },
    );
  }
}

/** Parses the official SDKs' `expiry_time` (a decimal string of epoch ms) strictly. */
export function parseExpiry(value: unknown, id: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  if (typeof value === 'string' && /^\d{1,16}$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  throw new ZohoTokenError(ErrorCode.CORRUPT_RECORD, `Stored token ${JSON.stringify(id)} has an invalid expiry_time`);
}

/** The official SDKs' `expiry_time` text for an expiry. */
export function formatExpiry(value: number | null): string | null {
  return value === null ? null : String(value);
}
