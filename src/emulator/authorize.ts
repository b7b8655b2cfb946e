import type { EmulatorCore } from './core.js';
import { parseScopes } from './scopes.js';
import type { ClientRecord } from './state.js';

/** A validated `GET /oauth/v2/auth` request. */
export interface AuthRequest {
  readonly client: ClientRecord;
  /** The data center that will issue the code: the one asked when the client is enabled there, else its home. */
  readonly dc: string;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly offline: boolean;
  readonly forceConsent: boolean;
  readonly state: string | undefined;
  readonly loginHint: string | undefined;
}

/** Something went wrong before a redirect URI could be trusted (or a limit hit): show a page. */
export interface AuthPageError {
  readonly ok: false;
  /** For programmatic callers (`emu.approve`): what kind of failure. */
  readonly reason: 'invalid_client' | 'invalid_redirect_uri' | 'invalid_request' | 'throttled';
  /** For `throttled`: ms until the grant-code window frees. */
  readonly retryAfterMs?: number;
  readonly status: number;
  readonly title: string;
  readonly message: string;
}

type Params = ReadonlyMap<string, string> | URLSearchParams;

export function validateAuthRequest(
  core: EmulatorCore,
  params: Params,
  askedDc?: string,
): { ok: true; request: AuthRequest } | AuthPageError {
  const clientId = params.get('client_id') ?? '';
  const client = core.state.client(clientId);
  // Any data center's accounts server accepts the auth request; the redirect names the client's DC.
  if (client === undefined)
    return pageError('invalid_client', 400, 'Invalid Client', 'The client_id is not registered.');
  const redirectUri = params.get('redirect_uri') ?? '';
  if (!client.redirectUris.includes(redirectUri)) {
    return pageError(
      'invalid_redirect_uri',
      400,
      'Invalid Redirect Uri',
      'The redirect_uri does not match any registered for this client.',
    );
  }
  if ((params.get('response_type') ?? '') !== 'code') {
    return pageError('invalid_request', 400, 'Invalid Response Type', 'response_type must be "code".');
  }
  const scopes = parseScopes(params.get('scope') ?? '');
  if (scopes.length === 0)
    return pageError('invalid_request', 400, 'Invalid OAuth Scope', 'The scope parameter is missing.');
  const budget = core.state.codeBudget(client.clientId);
  if (!budget.ok) return codeLimitError(budget.retryAfterMs);
  return {
    ok: true,
    request: {
      client,
      // A multi-DC client consents where it was asked (Zoho: the user's DC); others at home.
      dc: askedDc !== undefined && client.dataCenters.includes(askedDc) ? askedDc : client.dc,
      redirectUri,
      scopes,
      offline: (params.get('access_type') ?? '').toLowerCase() === 'offline',
      forceConsent: (params.get('prompt') ?? '').toLowerCase() === 'consent',
      state: params.get('state') ?? undefined,
      loginHint: params.get('login_hint') ?? undefined,
    },
  };
}

export type Decision = { readonly approve: true; readonly user: string } | { readonly approve: false };

/** Applies the user's decision; returns the redirect URL (with code or `error=access_denied`). */
export function decide(
  core: EmulatorCore,
  request: AuthRequest,
  decision: Decision,
): { ok: true; location: string } | AuthPageError {
  core.stats.add('consentDecisions');
  const location = new URL(request.redirectUri);
  if (!decision.approve) {
    location.searchParams.append('error', 'access_denied');
    if (request.state !== undefined) location.searchParams.append('state', request.state);
    return { ok: true, location: location.href };
  }
  const user = decision.user.trim();
  if (!/^[^\s@]+@[^\s@]+$/.test(user))
    return pageError('invalid_request', 400, 'Invalid User', 'A user email is required to approve.');
  const issued = core.state.issueCode({
    clientId: request.client.clientId,
    dc: request.dc,
    user,
    scopes: request.scopes,
    offline: request.offline,
    redirectUri: request.redirectUri,
    forceConsent: request.forceConsent,
    lifetimeMs: core.options.codeLifetimeMs,
  });
  if (!issued.ok) return codeLimitError(issued.retryAfterMs);
  core.crm(request.dc).user(user);
  location.searchParams.append('code', issued.code);
  location.searchParams.append('location', request.dc);
  location.searchParams.append('accounts-server', core.urlOf(request.dc));
  if (request.state !== undefined) location.searchParams.append('state', request.state);
  return { ok: true, location: location.href };
}

function codeLimitError(retryAfterMs: number): AuthPageError {
  const seconds = Math.ceil(retryAfterMs / 1000);
  const message = `Grant code limit reached for this client. Try again in ${seconds} seconds.`;
  return { ok: false, reason: 'throttled', retryAfterMs, status: 429, title: 'Too Many Requests', message };
}

function pageError(reason: AuthPageError['reason'], status: number, title: string, message: string): AuthPageError {
  return { ok: false, reason, status, title, message };
}
