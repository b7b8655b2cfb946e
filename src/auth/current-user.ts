import { ErrorCode, ZohoTokenError } from '../errors.js';
import { apiError, httpExchange, readText } from '../http/http-exchange.js';

const WHAT = 'GET /crm/v8/users?type=CurrentUser';

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
  const secrets = [accessToken];
  const answer = await httpExchange(
    {
      method: 'GET',
      url: `${apiDomain}/crm/v8/users?type=CurrentUser`,
      headers: { authorization: `Zoho-oauthtoken ${accessToken}`, accept: 'application/json' },
      secrets,
    },
    { fetch: options.fetch, timeoutMs: options.timeoutMs },
    readText,
  );
  if (answer.status < 200 || answer.status > 299) throw apiError(WHAT, answer, secrets);
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    body = undefined;
  }
  const email = (body as { users?: { email?: unknown }[] } | undefined)?.users?.[0]?.email;
  if (typeof email !== 'string' || email.length === 0) {
    throw new ZohoTokenError(ErrorCode.MALFORMED_RESPONSE, `${WHAT} answered no users[0].email`, {
      status: answer.status,
    });
  }
  return email;
}
