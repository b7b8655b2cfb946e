import { ErrorCode, ZohoTokenError } from '../errors.js';
import { sanitizeCause } from '../redact.js';

/**
 * The email of the user an access token belongs to, as the official SDKs learn it:
 * `GET {apiDomain}/crm/v8/users?type=CurrentUser` → `users[0].email`. Needs `ZohoCRM.users.READ`.
 * Throws a typed error (API_ERROR, NETWORK, MALFORMED_RESPONSE) that never carries the token.
 */
export async function fetchCurrentUserEmail(
  apiDomain: string,
  accessToken: string,
  options: { fetch: typeof fetch; timeoutMs: number },
): Promise<string> {
  let response: Response;
  let text: string;
  try {
    response = await options.fetch(`${apiDomain}/crm/v8/users?type=CurrentUser`, {
      headers: { authorization: `Zoho-oauthtoken ${accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const cause = sanitizeCause(error, [accessToken]);
    throw new ZohoTokenError(ErrorCode.NETWORK, `GET ${apiDomain}/crm/v8/users got no answer: ${cause.message}`, {
      cause,
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const apiCode =
      typeof (body as { code?: unknown })?.code === 'string' ? (body as { code: string }).code : undefined;
    throw new ZohoTokenError(
      ErrorCode.API_ERROR,
      `GET /crm/v8/users?type=CurrentUser answered HTTP ${response.status}${apiCode ? ` ${apiCode}` : ''}`,
      {
        status: response.status,
        apiCode,
      },
    );
  }
  const email = (body as { users?: { email?: unknown }[] } | undefined)?.users?.[0]?.email;
  if (typeof email !== 'string' || email.length === 0) {
    throw new ZohoTokenError(
      ErrorCode.MALFORMED_RESPONSE,
      'GET /crm/v8/users?type=CurrentUser answered no users[0].email',
      {
        status: response.status,
      },
    );
  }
  return email;
}
