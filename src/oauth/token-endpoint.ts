import { ErrorCode, ZohoTokenError } from '../errors.js';
import type { Environment } from './environment.js';
import type { ClassifyOptions, JsonObject } from './classify.js';
import { malformed, readOAuthJson } from './classify.js';
import type { OAuthRequestOptions } from './http.js';
import { accountsEndpoint, postFormWithRetry } from './http.js';

export type { OAuthRequestOptions } from './http.js';

/** An OAuth client as registered in the Zoho API console. */
export interface ClientCredentials {
  /** The client id. */
  clientId: string;
  /** The client secret; scrubbed from every error. */
  clientSecret: string;
}

/** What a successful token response carries, normalized. */
export interface TokenSet {
  /** The new access token (`access_token`). */
  accessToken: string;
  /** `null` when the response has none (refresh responses, online access). */
  refreshToken: string | null;
  /** `null` when omitted; the caller then keeps the one it stored. */
  apiDomain: string | null;
  /** Absolute epoch ms: `now()` when the response was processed + `expires_in`. */
  expiresAt: number;
  /** The granted scopes (`scope`, split on spaces and commas), or `null` when omitted. */
  scope: string[] | null;
  /** `token_type` as sent (e.g. `Bearer`), or `null` when omitted. */
  tokenType: string | null;
}

/** Options of {@link processTokenResponse}. */
export type ProcessTokenResponseOptions = ClassifyOptions;

/** Form fields whose values must never appear in an error. */
const SECRET_PARAMS = ['client_secret', 'code', 'refresh_token', 'token'];

/**
 * Sends `body` to `POST {accountsUrl}/oauth/v2/token` (urlencoded), with timeout and retries for
 * network errors and 5xx. Returns the Response unjudged: pass it to {@link processTokenResponse}.
 * A grant code is single use, so an `authorization_code` request is retried only when it surely
 * never reached the server (connection refused, DNS): re-sending a code Zoho already took would
 * burn it (`invalid_code`) and orphan the refresh token minted by the first attempt.
 */
export async function tokenEndpointRequest(
  env: Pick<Environment, 'accountsUrl'>,
  body: URLSearchParams,
  options?: OAuthRequestOptions,
): Promise<Response> {
  const url = accountsEndpoint(env.accountsUrl, '/oauth/v2/token');
  const resendable = body.get('grant_type') !== 'authorization_code';
  return postFormWithRetry({ url, body, secrets: secretsOf(body), resendable }, options);
}

/**
 * Validates a token endpoint Response: returns the TokenSet or throws a typed `ZohoTokenError`
 * (Zoho reports errors with HTTP 200, so the body decides, not the status).
 */
export async function processTokenResponse(
  response: Response,
  options: ProcessTokenResponseOptions = {},
): Promise<TokenSet> {
  const body = await readOAuthJson(response, options);
  const now = (options.now ?? Date.now)();
  const accessToken = body.access_token;
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw malformed('Token response has no access_token string', response);
  }
  return {
    accessToken,
    refreshToken: optionalString(body, 'refresh_token', response),
    apiDomain: optionalString(body, 'api_domain', response),
    expiresAt: now + lifetimeMs(body, response),
    scope: parseScope(body.scope, response),
    tokenType: optionalString(body, 'token_type', response),
  };
}

/**
 * Trades a grant code (from the consent redirect or a Self Client) for tokens.
 *
 * @throws `ZohoTokenError` `INVALID_ARGUMENT` for a missing client id, secret or code or a bad option; Zoho's
 *   answer as {@link classifyOAuthError} types it (`INVALID_GRANT`, `INVALID_CLIENT`, `THROTTLED`,
 *   …); `NETWORK` when no attempt got an answer; `SERVER_ERROR` for a 5xx after every retry;
 *   `MALFORMED_RESPONSE` for a body that is not the documented JSON.
 */
export async function exchangeAuthorizationCode(
  env: Pick<Environment, 'accountsUrl'>,
  client: ClientCredentials,
  params: { code: string; redirectUrl?: string | null },
  options: OAuthRequestOptions = {},
): Promise<TokenSet> {
  requireString('code', params?.code);
  const body = clientBody(client, 'authorization_code');
  body.set('code', params.code);
  // Self Client codes have no redirect URI; a web-flow code needs the registered one, verbatim.
  if (params.redirectUrl != null) body.set('redirect_uri', params.redirectUrl);
  const response = await tokenEndpointRequest(env, body, options);
  return processTokenResponse(response, processOptions(options, [client.clientSecret, params.code]));
}

/**
 * Mints a new access token. Zoho does not rotate refresh tokens: `refreshToken` is usually `null`.
 *
 * @throws `ZohoTokenError` `INVALID_ARGUMENT` for a missing client id, secret or refresh token or a bad option; Zoho's
 *   answer as {@link classifyOAuthError} types it (`INVALID_GRANT`, `INVALID_CLIENT`, `THROTTLED`,
 *   …); `NETWORK` when no attempt got an answer; `SERVER_ERROR` for a 5xx after every retry;
 *   `MALFORMED_RESPONSE` for a body that is not the documented JSON.
 */
export async function refreshAccessToken(
  env: Pick<Environment, 'accountsUrl'>,
  client: ClientCredentials,
  refreshToken: string,
  options: OAuthRequestOptions = {},
): Promise<TokenSet> {
  requireString('refreshToken', refreshToken);
  const body = clientBody(client, 'refresh_token');
  body.set('refresh_token', refreshToken);
  const response = await tokenEndpointRequest(env, body, options);
  return processTokenResponse(response, processOptions(options, [client.clientSecret, refreshToken]));
}

function clientBody(client: ClientCredentials, grantType: string): URLSearchParams {
  requireString('clientId', client?.clientId);
  requireString('clientSecret', client?.clientSecret);
  return new URLSearchParams({ client_id: client.clientId, client_secret: client.clientSecret, grant_type: grantType });
}

function processOptions(options: OAuthRequestOptions, secrets: string[]): ProcessTokenResponseOptions {
  return { now: options.now, throttleRetryAfterMs: options.throttleRetryAfterMs, secrets };
}

export function secretsOf(body: URLSearchParams): string[] {
  return SECRET_PARAMS.flatMap((field) => body.getAll(field));
}

export function requireString(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `${field} must be a non-empty string`, { field });
  }
}

/** The SDKs' rule: `expires_in_sec` present ⇒ `expires_in` is in ms, else in seconds. */
function lifetimeMs(body: JsonObject, response: Response): number {
  const seconds = toNumber(body.expires_in_sec);
  const raw = toNumber(body.expires_in);
  if (body.expires_in_sec !== undefined && seconds === undefined)
    throw malformed('Token response has a non-numeric expires_in_sec', response);
  if (raw !== undefined) return seconds === undefined ? raw * 1000 : raw;
  if (seconds !== undefined && body.expires_in === undefined) return seconds * 1000;
  throw malformed('Token response has no numeric expires_in', response);
}

/** Numbers, or digit strings from lenient proxies; anything else is `undefined`. */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

function optionalString(body: JsonObject, field: string, response: Response): string | null {
  const value = body[field];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw malformed(`Token response field ${field} is not a string`, response);
  return value;
}

/** Zoho sends scopes space-separated; commas are accepted too (that is how they are requested). */
function parseScope(value: unknown, response: Response): string[] | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((s) => s.length > 0);
  if (Array.isArray(value) && value.every((s): s is string => typeof s === 'string')) return [...value];
  throw malformed('Token response field scope is neither a string nor a list of strings', response);
}
