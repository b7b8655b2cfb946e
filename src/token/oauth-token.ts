import { inspect } from 'node:util';
import { ErrorCode, ZohoTokenError } from '../errors.js';
import { redact } from '../redact.js';
import { UserSignature } from './user-signature.js';
import { isWellFormed } from './well-formed.js';

/** The string fields of a token, in the order of the official SDKs' table columns. */
export const TOKEN_STRING_FIELDS = [
  'id',
  'clientId',
  'clientSecret',
  'refreshToken',
  'accessToken',
  'grantToken',
  'redirectUrl',
  'apiDomain',
  'accountsUrl',
] as const;

/** Fields whose values are credentials: never logged, shown redacted. */
export const SECRET_FIELDS = ['clientSecret', 'refreshToken', 'accessToken', 'grantToken'] as const;

export type TokenStringField = (typeof TOKEN_STRING_FIELDS)[number];
export type SecretField = (typeof SECRET_FIELDS)[number];

/** Longest id the official SDKs' tables (`varchar(10)`) and files can hold. */
export const MAX_ID_LENGTH = 10;

/**
 * What a token is made of. In a `saveToken`, a field left `undefined` keeps the stored value and a
 * field set to `null` clears it; an empty string counts as `null`.
 */
export interface OAuthTokenInit {
  /**
   * The store's id of this token: a decimal number of at most 10 digits (`"1"`, `"42"`). A new
   * token saved under an id of your choice needs a canonical one of at most 999999999
   * (`MAX_CHOSEN_ID`; docs/token-store-contract.md#ids).
   */
  id?: string | null;
  /** The Zoho user the token belongs to (their email). A plain string is accepted too. */
  userSignature?: UserSignature | string | null;
  /** The OAuth client id (from the Zoho API console). Required with a grant or refresh token. */
  clientId?: string | null;
  /** The OAuth client secret. Required with a grant or refresh token. */
  clientSecret?: string | null;
  /** The redirect URI registered for the client; needed to exchange a grant token. */
  redirectUrl?: string | null;
  /** The one-time authorization code ("grant token"). */
  grantToken?: string | null;
  /** The long-lived token that mints access tokens. */
  refreshToken?: string | null;
  /** The short-lived token sent as `Authorization: Zoho-oauthtoken …`. */
  accessToken?: string | null;
  /** Absolute expiry of the access token, epoch milliseconds. */
  expiresAt?: number | null;
  /** The API base URL Zoho returned with the token (`https://www.zohoapis.eu`). */
  apiDomain?: string | null;
  /** The accounts server the token came from; refreshes go there and nowhere else. */
  accountsUrl?: string | null;
}

/**
 * An OAuth token as stores keep it: the official SDKs' fields plus `accountsUrl`, which binds the token to
 * its data center. Construction validates like the official SDKs do: the token must carry a grant
 * token, refresh token, id, access token or user signature, and a grant or refresh token needs the
 * client id and secret. `inspect`, `toString` and `toJSON` show secrets redacted.
 *
 * Fields are as in {@link OAuthTokenInit}, normalized: an empty string becomes `null`, a user name
 * becomes a {@link UserSignature}.
 */
export class OAuthToken {
  /** The store's id of this token; see {@link OAuthTokenInit.id}. */
  id: string | null | undefined;
  /** The Zoho user the token belongs to. */
  userSignature: UserSignature | null | undefined;
  /** The OAuth client id. */
  clientId: string | null | undefined;
  /** The OAuth client secret. */
  clientSecret: string | null | undefined;
  /** The redirect URI registered for the client. */
  redirectUrl: string | null | undefined;
  /** The one-time authorization code. */
  grantToken: string | null | undefined;
  /** The long-lived token that mints access tokens. */
  refreshToken: string | null | undefined;
  /** The current access token. */
  accessToken: string | null | undefined;
  /** Absolute expiry of the access token, epoch milliseconds. */
  expiresAt: number | null | undefined;
  /** The API base URL Zoho returned with the token. */
  apiDomain: string | null | undefined;
  /** The accounts server the token came from; refreshes go there and nowhere else. */
  accountsUrl: string | null | undefined;

  /**
   * @throws {@link ZohoTokenError} `INVALID_TOKEN` (with `field`) when a field has the wrong type,
   *   the id is longer than 10 characters, a string holds a lone UTF-16 surrogate, or the token has
   *   no grant token, refresh token, id, access token or user, or a grant or refresh token lacks
   *   the client id or secret.
   */
  constructor(init: OAuthTokenInit) {
    if (init === null || typeof init !== 'object') {
      throw new ZohoTokenError(ErrorCode.INVALID_TOKEN, 'OAuthToken needs an object of fields', { field: 'init' });
    }
    this.id = normalizeString(init, 'id');
    this.userSignature = normalizeUser(init.userSignature);
    this.clientId = normalizeString(init, 'clientId');
    this.clientSecret = normalizeString(init, 'clientSecret');
    this.redirectUrl = normalizeString(init, 'redirectUrl');
    this.grantToken = normalizeString(init, 'grantToken');
    this.refreshToken = normalizeString(init, 'refreshToken');
    this.accessToken = normalizeString(init, 'accessToken');
    this.expiresAt = normalizeExpiry(init.expiresAt);
    this.apiDomain = normalizeString(init, 'apiDomain');
    this.accountsUrl = normalizeString(init, 'accountsUrl');
    validateToken(this);
  }

  /** The user's name (email), or null. */
  get userName(): string | null {
    return this.userSignature?.name ?? null;
  }

  /** True when the access token is missing or expires within `marginMs` of `now`. */
  isExpired(now: number = Date.now(), marginMs = 0): boolean {
    return !this.accessToken || this.expiresAt == null || this.expiresAt - marginMs <= now;
  }

  /** A copy; `changes` override fields (same rules as the constructor). */
  with(changes: OAuthTokenInit = {}): OAuthToken {
    return new OAuthToken({ ...this.toInit(), ...changes });
  }

  /** The fields as a plain object, secrets included. For code that persists tokens; never log it. */
  toInit(): OAuthTokenInit {
    return {
      id: this.id,
      userSignature: this.userSignature,
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      redirectUrl: this.redirectUrl,
      grantToken: this.grantToken,
      refreshToken: this.refreshToken,
      accessToken: this.accessToken,
      expiresAt: this.expiresAt,
      apiDomain: this.apiDomain,
      accountsUrl: this.accountsUrl,
    };
  }

  /** JSON with secrets redacted: safe for logs. Use `toInit()` to persist. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.toInit(), userSignature: this.userName };
    for (const field of SECRET_FIELDS) {
      if (typeof out[field] === 'string') out[field] = redact(out[field] as string);
    }
    return out;
  }

  /** `OAuthToken {…}` with the {@link toJSON} fields: secrets redacted. */
  toString(): string {
    return `OAuthToken ${JSON.stringify(this.toJSON())}`;
  }

  /** What `console.log` and `util.inspect` show: {@link toString}, secrets redacted. */
  [inspect.custom](): string {
    return this.toString();
  }
}

function invalid(field: string, message: string): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.INVALID_TOKEN, `OAuthToken.${field} ${message}`, { field });
}

function normalizeString(init: OAuthTokenInit, field: TokenStringField): string | null | undefined {
  const value = (init as Record<string, unknown>)[field];
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string') throw invalid(field, `must be a string, null or undefined (got ${typeof value})`);
  if (value.length === 0) return null;
  if (!isWellFormed(value)) throw invalid(field, LONE_SURROGATE_MESSAGE);
  if (field === 'id' && value.length > MAX_ID_LENGTH)
    throw invalid(field, `must be at most ${MAX_ID_LENGTH} characters`);
  return value;
}

const LONE_SURROGATE_MESSAGE =
  'contains a lone UTF-16 surrogate, which no store can keep (it would be saved as U+FFFD)';

function normalizeUser(value: unknown): UserSignature | null | undefined {
  if (value === undefined || value === null) return value;
  // A UserSignature checks its name when built; re-checked here because a snapshot of a mutated
  // token passes the same instance on.
  if (value instanceof UserSignature) {
    if (typeof value.name !== 'string' || !isWellFormed(value.name))
      throw invalid('userSignature', LONE_SURROGATE_MESSAGE);
    return value;
  }
  if (typeof value === 'string') return value.length === 0 ? null : new UserSignature(value);
  throw invalid('userSignature', 'must be a UserSignature, a string, null or undefined');
}

function normalizeExpiry(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid('expiresAt', 'must be a non-negative integer of epoch milliseconds');
  }
  return value;
}

/**
 * The official SDKs' rule: at least one way to find or mint a token, and client credentials with
 * a grant or refresh token. Stores re-check it on save because fields are mutable.
 */
export function validateToken(token: OAuthToken): void {
  if (!token.grantToken && !token.refreshToken && !token.id && !token.accessToken && !token.userSignature) {
    throw invalid('grantToken', 'or refreshToken, id, accessToken or userSignature must be given');
  }
  if (token.grantToken || token.refreshToken) {
    if (!token.clientId) throw invalid('clientId', 'is required with a grant or refresh token');
    if (!token.clientSecret) throw invalid('clientSecret', 'is required with a grant or refresh token');
  }
}
