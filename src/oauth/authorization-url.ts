import { timingSafeEqual } from 'node:crypto';
import { ErrorCode, ZohoTokenError } from '../errors.js';
import type { Environment } from './environment.js';
import { accountsEndpoint } from './http.js';
import { requireString } from './token-endpoint.js';

/** Parameters of the consent URL. */
export interface AuthorizationUrlParams {
  /** The OAuth client id. */
  clientId: string;
  /** Must equal a redirect URI registered for the client, character for character. */
  redirectUrl: string;
  /** e.g. `['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ']`; sent comma-separated. */
  scopes: string[];
  /** Unguessable value tied to the user's session; checked by {@link parseAuthorizationCallback}. */
  state: string;
  /**
   * `offline` is the only way to receive a refresh token.
   * @default 'offline'
   */
  accessType?: 'offline' | 'online';
  /**
   * `consent` makes Zoho issue a refresh token even if the user consented before; `null` omits it.
   * @default 'consent'
   */
  prompt?: 'consent' | null;
}

/** What the redirect back from Zoho carries on success. */
export interface AuthorizationCallback {
  /** The single-use grant code (valid about 2 minutes). */
  code: string;
  /** The user's data center (`us`, `eu`, …), or `null` when absent. */
  location: string | null;
  /**
   * The accounts server the code must be exchanged at, or `null`. Untrusted input: resolve it with
   * `environmentFromLocation(location, kind, accountsServer)` before sending the client secret there.
   */
  accountsServer: string | null;
}

/** `GET {accountsUrl}/oauth/v2/auth?…`: where to send the user's browser. */
export function buildAuthorizationUrl(env: Pick<Environment, 'accountsUrl'>, p: AuthorizationUrlParams): URL {
  requireString('clientId', p.clientId);
  requireString('redirectUrl', p.redirectUrl);
  requireString('state', p.state);
  if (
    !Array.isArray(p.scopes) ||
    p.scopes.length === 0 ||
    !p.scopes.every((s) => typeof s === 'string' && /^[^\s,]+$/.test(s))
  ) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'scopes must be a non-empty list of scope names', {
      field: 'scopes',
    });
  }
  const url = accountsEndpoint(env.accountsUrl, '/oauth/v2/auth');
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', p.clientId);
  url.searchParams.set('scope', p.scopes.join(','));
  url.searchParams.set('redirect_uri', p.redirectUrl);
  url.searchParams.set('access_type', p.accessType ?? 'offline');
  const prompt = p.prompt === undefined ? 'consent' : p.prompt;
  if (prompt !== null) url.searchParams.set('prompt', prompt);
  url.searchParams.set('state', p.state);
  return url;
}

/**
 * Reads the redirect back from Zoho. Throws `INVALID_ARGUMENT` (field `state`) when the state
 * differs, and `OAUTH_ERROR` when Zoho reports an error such as `access_denied`. An error redirect
 * without a state is still reported as the error: it yields no code, so nothing can be misused.
 */
export function parseAuthorizationCallback(url: string | URL, expectedState: string): AuthorizationCallback {
  requireString('expectedState', expectedState);
  const params = toUrl(url).searchParams;
  const state = params.get('state');
  const error = params.get('error');
  if ((state !== null || error === null) && !sameString(state ?? '', expectedState)) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      'The callback state does not match the state of this login (possible CSRF)',
      {
        field: 'state',
      },
    );
  }
  if (error !== null) throw callbackError(error);
  const code = params.get('code');
  if (!code) throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'The callback URL has no code', { field: 'code' });
  return {
    code,
    location: params.get('location') || null,
    accountsServer: accountsServerOf(params.get('accounts-server')),
  };
}

function toUrl(url: string | URL): URL {
  try {
    return url instanceof URL ? url : new URL(url);
  } catch {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'The callback URL is not an absolute URL', { field: 'url' });
  }
}

function callbackError(error: string): ZohoTokenError {
  const quoted = JSON.stringify(error.slice(0, 100));
  const message =
    error === 'access_denied'
      ? 'The user denied consent (access_denied): no token was issued'
      : `Zoho reported an error in the callback: ${quoted}`;
  return new ZohoTokenError(ErrorCode.OAUTH_ERROR, message, { apiCode: error.slice(0, 100) });
}

/** Constant time, so the comparison leaks nothing about the expected state. */
function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function accountsServerOf(value: string | null): string | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    if (url.protocol === 'https:' || url.protocol === 'http:')
      return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    // fall through to the error below
  }
  throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'The callback accounts-server is not an http(s) URL', {
    field: 'accountsServer',
  });
}
