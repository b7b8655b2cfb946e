import { ErrorCode, ZohoTokenError } from '../errors.js';
import type { OAuthToken } from '../token/oauth-token.js';

/** AUTH_REQUIRED: the user must log in (again). */
export function authRequired(message: string, cause?: unknown): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.AUTH_REQUIRED, message, cause === undefined ? {} : { cause });
}

/** AUTH_REQUIRED for a token that has neither a valid access token nor a refresh token. */
export function noRefreshToken(token: OAuthToken): ZohoTokenError {
  return authRequired(
    `Token id ${token.id ?? '?'}${token.userName ? ` (user ${token.userName})` : ''} has no valid access token and no refresh token ` +
      '(Zoho rejected it, or it was issued without access_type=offline): the user must log in again',
  );
}

/** The failure itself, telling the caller when the token's cool-down ends. */
export function withRetryAfter(error: ZohoTokenError, retryAfterMs: number): ZohoTokenError {
  const { field, status, apiCode, response } = error;
  return new ZohoTokenError(error.code, error.message, {
    cause: error.cause,
    field,
    status,
    apiCode,
    response,
    retryAfterMs,
  });
}

/** The id of a token the store returned (every stored token has one). */
export function idOf(token: OAuthToken): string {
  if (!token.id) throw new ZohoTokenError(ErrorCode.STORE_ERROR, 'The store returned a token without an id');
  return token.id;
}
