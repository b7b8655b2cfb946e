import { decide, validateAuthRequest } from './authorize.js';
import { OTHER_USER_FIELD, pageCsp, renderConsentPage, renderErrorPage } from './consent-page.js';
import type { EmulatorCore } from './core.js';
import { html, json, redirect, type EmulatorReply } from './exchange.js';
import { notify } from './observer.js';
import type { RequestContext } from './request-context.js';
import type { MintedTokens, OAuthError } from './state.js';

export const DECISION_PATH = '/oauth/v2/auth/decision';

/** `GET /oauth/v2/auth`: the consent page (or an immediate redirect with `autoApprove`). */
export async function handleAuthPage(ctx: RequestContext): Promise<EmulatorReply> {
  const { core } = ctx;
  core.stats.add('authPageRequests');
  const faulted = await ctx.faulted('auth');
  if (faulted !== undefined) return faulted;
  const params = ctx.url.searchParams;
  const checked = validateAuthRequest(core, params, ctx.dc);
  if (!checked.ok) return html(checked.status, renderErrorPage(checked.title, checked.message));
  const { request } = checked;
  if (core.autoApprove !== undefined) {
    return finishDecision(decide(core, request, { approve: true, user: core.autoApprove.user }));
  }
  core.pending.shown(params, ctx.dc);
  const accounts = [
    request.loginHint ?? '',
    core.options.defaultUser,
    ...core
      .crm(request.client.dc)
      .users()
      .map((user) => user.email),
  ].filter((user, i, all) => user !== '' && all.indexOf(user) === i);
  return html(
    200,
    renderConsentPage({
      action: DECISION_PATH,
      params: new Map(params),
      clientId: request.client.clientId,
      appName: request.client.name,
      scopes: request.scopes,
      accounts,
    }),
    // The decision redirects the form's navigation to the client: its origin must be allowed.
    pageCsp([sourceOf(request.redirectUri)]),
  );
}

/** `POST /oauth/v2/auth/decision`: the consent page's Approve / Deny forms. */
export async function handleDecision(ctx: RequestContext): Promise<EmulatorReply> {
  const { core } = ctx;
  const faulted = await ctx.faulted('auth');
  if (faulted !== undefined) return faulted;
  const params = await ctx.params();
  const checked = validateAuthRequest(core, params, ctx.dc);
  if (!checked.ok) return html(checked.status, renderErrorPage(checked.title, checked.message));
  const approve = params.get('decision') === 'approve';
  const user = params.get('user') || params.get(OTHER_USER_FIELD) || '';
  const outcome = decide(core, checked.request, approve ? { approve, user } : { approve });
  if (outcome.ok) core.pending.decided(params);
  return finishDecision(outcome);
}

/** A CSP source for a redirect URI: its origin, or its scheme for an app's custom scheme. */
function sourceOf(uri: string): string {
  const url = new URL(uri);
  return url.origin === 'null' ? url.protocol : url.origin;
}

function finishDecision(outcome: ReturnType<typeof decide>): EmulatorReply {
  return outcome.ok
    ? redirect(outcome.location)
    : html(outcome.status, renderErrorPage(outcome.title, outcome.message));
}

/** `POST /oauth/v2/token`: both grants; errors are HTTP 200 JSON bodies, as Zoho does. */
export async function handleToken(ctx: RequestContext): Promise<EmulatorReply> {
  const { core, dc } = ctx;
  core.stats.add('tokenRequests');
  const params = await ctx.params();
  const grantType = params.get('grant_type');
  const category = grantType === 'authorization_code' ? 'grant' : grantType === 'refresh_token' ? 'refresh' : 'token';
  if (category === 'grant') core.stats.add('grantRequests');
  if (category === 'refresh') core.stats.add('refreshRequests');
  const faulted = await ctx.faulted(category);
  if (faulted !== undefined) return faulted;

  const sent = params.get(category === 'refresh' ? 'refresh_token' : 'code');
  const observe = (outcome: string): void => {
    if (category !== 'token')
      notify(core.observer, 'onRequest', { category, dc, ...(sent ? { token: sent } : {}), outcome });
  };
  const fail = (error: OAuthError): EmulatorReply => {
    observe(error);
    if (category === 'grant') core.stats.add('grantErrors');
    if (category === 'refresh') core.stats.add(error === 'Access Denied' ? 'refreshThrottled' : 'refreshErrors');
    core.stats.tally('byError', error);
    return json(200, error === 'Access Denied' ? throttleBody(core) : { error });
  };

  if (grantType === undefined || grantType === '') return fail('invalid_request');
  if (category === 'token') return fail('unsupported_grant_type');
  const client = core.state.checkClient(params.get('client_id'), params.get('client_secret'), dc);
  if (typeof client === 'string') return fail(client);

  let outcome;
  if (category === 'grant') {
    const code = params.get('code');
    if (code === undefined || code === '') return fail('invalid_request');
    outcome = core.state.exchangeCode(client, code, params.get('redirect_uri'), dc);
  } else {
    const refreshToken = params.get('refresh_token');
    if (refreshToken === undefined || refreshToken === '') return fail('invalid_request');
    outcome = core.state.refresh(client, refreshToken, dc);
  }
  if (!outcome.ok) return fail(outcome.error);
  observe('issued');
  observeIssued(core, dc, category, outcome.tokens, category === 'refresh' ? params.get('refresh_token') : undefined);
  core.stats.add(category === 'grant' ? 'grantSuccesses' : 'refreshSuccesses');
  return json(200, tokenBody(core, dc, outcome.tokens));
}

/**
 * `POST /oauth/v2/token/revoke?token=…` (also `/oauth/v2/revoke/token`, token in query or form).
 * Unknown token: HTTP 400 `{"status":"failure","error":"invalid_token"}` (body unconfirmed at Zoho).
 */
export async function handleRevoke(ctx: RequestContext): Promise<EmulatorReply> {
  const { core, dc } = ctx;
  core.stats.add('revokeRequests');
  const params = await ctx.params();
  const faulted = await ctx.faulted('revoke');
  if (faulted !== undefined) return faulted;
  const token = params.get('token');
  if (token !== undefined && token !== '' && core.state.revoke(token, dc)) {
    core.stats.add('revokeSuccesses');
    return json(200, { status: 'success' });
  }
  const error = token === undefined || token === '' ? 'invalid_request' : 'invalid_token';
  core.stats.add('revokeErrors');
  core.stats.tally('byError', error);
  return json(400, { status: 'failure', error });
}

function observeIssued(
  core: EmulatorCore,
  dc: string,
  category: 'grant' | 'refresh',
  tokens: MintedTokens,
  parent: string | undefined,
): void {
  if (core.observer?.onTokenIssued === undefined) return;
  const info = core.state.tokenInfo(tokens.accessToken);
  if (info === undefined || info.expiresAt === undefined) return;
  notify(core.observer, 'onTokenIssued', {
    accessToken: tokens.accessToken,
    ...(tokens.refreshToken === undefined ? {} : { refreshToken: tokens.refreshToken }),
    ...(parent === undefined ? {} : { parentRefreshToken: parent }),
    grantType: category === 'grant' ? 'authorization_code' : 'refresh_token',
    clientId: info.clientId,
    user: info.user,
    dc,
    issuedAt: info.issuedAt,
    expiresAt: info.expiresAt,
  });
}

/** Zoho's success body, in its field order; legacy shape when configured. */
export function tokenBody(core: EmulatorCore, dc: string, tokens: MintedTokens): Record<string, unknown> {
  const seconds = Math.round(tokens.lifetimeMs / 1000);
  return {
    access_token: tokens.accessToken,
    ...(tokens.refreshToken === undefined ? {} : { refresh_token: tokens.refreshToken }),
    scope: tokens.scopes.join(' '),
    api_domain: core.urlOf(dc),
    token_type: 'Bearer',
    ...(core.options.legacyExpiresInSec
      ? { expires_in_sec: seconds, expires_in: seconds * 1000 }
      : { expires_in: seconds }),
  };
}

export function throttleBody(core: EmulatorCore): Record<string, string> {
  return { error: 'Access Denied', error_description: core.options.throttleDescription, status: 'failure' };
}
