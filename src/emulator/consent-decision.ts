import { ErrorCode, ZohoTokenError } from '../errors.js';
import { decide, validateAuthRequest, type AuthPageError } from './authorize.js';
import type { EmulatorCore } from './core.js';

/**
 * Completes the web flow without HTML: decides the authorization request in `query` (approve as
 * `user`, or deny when `user` is undefined) and returns the redirect URL the browser would follow.
 * `dc` is the data center whose accounts server was asked (a multi-DC client consents there).
 *
 * @throws `ZohoTokenError` `INVALID_CLIENT`, `INVALID_REDIRECT_URI`, `INVALID_ARGUMENT` or
 *   `THROTTLED` (with `retryAfterMs`), as the consent page would have refused.
 */
export function decideConsent(
  core: EmulatorCore,
  query: URLSearchParams,
  user: string | undefined,
  dc?: string,
): string {
  const checked = validateAuthRequest(core, query, dc);
  if (!checked.ok) throw authError(checked);
  const outcome = decide(core, checked.request, user === undefined ? { approve: false } : { approve: true, user });
  if (!outcome.ok) throw authError(outcome);
  core.pending.decided(query);
  return outcome.location;
}

function authError(failure: AuthPageError): ZohoTokenError {
  switch (failure.reason) {
    case 'invalid_client':
      return new ZohoTokenError(ErrorCode.INVALID_CLIENT, failure.message);
    case 'invalid_redirect_uri':
      return new ZohoTokenError(ErrorCode.INVALID_REDIRECT_URI, failure.message);
    case 'throttled':
      return new ZohoTokenError(ErrorCode.THROTTLED, failure.message, { retryAfterMs: failure.retryAfterMs ?? 0 });
    case 'invalid_request':
      return new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, failure.message);
  }
}
