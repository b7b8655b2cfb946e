import { ErrorCode, ZohoTokenError } from '../errors.js';
import type { Environment } from './environment.js';
import type { ClassifyOptions } from './classify.js';
import { readOAuthJson } from './classify.js';
import type { OAuthRequestOptions } from './http.js';
import { accountsEndpoint, postFormWithRetry } from './http.js';
import { requireString } from './token-endpoint.js';

/**
 * Sends `POST {accountsUrl}/oauth/v2/token/revoke?token=…`, as Zoho documents it, and the same
 * `token` in the urlencoded body, for servers that read the form (the emulator reads either).
 * Sending it where Zoho looks matters: a request Zoho cannot read answers 400, which would be taken
 * for "unknown token" and delete a row whose token is still alive. Errors never show the URL.
 */
export async function revokeTokenRequest(
  env: Pick<Environment, 'accountsUrl'>,
  refreshToken: string,
  options?: OAuthRequestOptions,
): Promise<Response> {
  requireString('refreshToken', refreshToken);
  const url = accountsEndpoint(env.accountsUrl, '/oauth/v2/token/revoke');
  url.searchParams.set('token', refreshToken);
  return postFormWithRetry(
    { url, body: new URLSearchParams({ token: refreshToken }), secrets: [refreshToken] },
    options,
  );
}

/**
 * Judges a revoke Response: `{"status":"success"}` resolves; HTTP 400 is `INVALID_GRANT` (Zoho's
 * answer for an unknown or already revoked token); anything else is classified like a token error.
 */
export async function processRevokeResponse(response: Response, options: ClassifyOptions = {}): Promise<void> {
  if (response.status === 400) {
    await response.body?.cancel();
    throw new ZohoTokenError(
      ErrorCode.INVALID_GRANT,
      'Zoho does not know this refresh token (already revoked, or never issued)',
      {
        status: 400,
        response,
      },
    );
  }
  const body = await readOAuthJson(response, options);
  if (body.status !== 'success') {
    throw new ZohoTokenError(ErrorCode.OAUTH_ERROR, 'Zoho did not confirm the revocation (no "status":"success")', {
      status: response.status,
      response,
    });
  }
}

/** Revokes a refresh token, and with it every access token minted from it. */
export async function revokeRefreshToken(
  env: Pick<Environment, 'accountsUrl'>,
  refreshToken: string,
  options: OAuthRequestOptions = {},
): Promise<void> {
  const response = await revokeTokenRequest(env, refreshToken, options);
  await processRevokeResponse(response, {
    now: options.now,
    throttleRetryAfterMs: options.throttleRetryAfterMs,
    secrets: [refreshToken],
  });
}
