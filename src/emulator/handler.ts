import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_PREFIX, handleAdmin } from './admin-routes.js';
import { renderErrorPage } from './consent-page.js';
import type { EmulatorCore } from './core.js';
import { accessTokenOf, handleApi, INVALID_TOKEN } from './crm-routes.js';
import { DROP, html, json, raw, type EmulatorReply, type EmulatorRequest } from './exchange.js';
import type { FaultDecision, FaultTarget } from './faults.js';
import { BadBody, BodyTooLarge, readBody, readParams } from './http-io.js';
import { notify } from './observer.js';
import { handleAuthPage, handleDecision, handleRevoke, handleToken, throttleBody } from './oauth-routes.js';
import type { RequestCategory, RequestContext, Route } from './request-context.js';

const TARGET: Record<RequestCategory, Exclude<FaultTarget, 'all'>> = {
  auth: 'auth',
  grant: 'token',
  refresh: 'token',
  token: 'token',
  revoke: 'revoke',
  api: 'api',
};

/**
 * Answers one request to data center `dc`: the one routing core behind both the `node:http`
 * listener and `emu.fetch`. Never rejects: an unexpected error answers a bare 500. All state lives
 * in `core`; nothing here is global.
 */
export async function handleRequest(core: EmulatorCore, dc: string, request: EmulatorRequest): Promise<EmulatorReply> {
  // Zoho's servers stamp every answer; ours stamps it from the emulator's clock (not Node's wall
  // clock), so clients measuring clock skew measure it against the emulated server.
  const date = new Date(core.clock.now()).toUTCString();
  let reply: EmulatorReply;
  try {
    reply = await dispatch(core, dc, request);
  } catch {
    // Never echo the error: it could carry request data (tokens, secrets).
    reply = json(500, { status: 'failure', error: 'internal_error' });
  }
  return reply.kind === 'drop' ? reply : { ...reply, headers: { date, ...reply.headers } };
}

async function dispatch(core: EmulatorCore, dc: string, request: EmulatorRequest): Promise<EmulatorReply> {
  const url = new URL(request.target, 'http://emulator.invalid');
  const method = request.method;
  if (
    core.options.admin !== undefined &&
    (url.pathname === ADMIN_PREFIX || url.pathname.startsWith(`${ADMIN_PREFIX}/`))
  )
    return handleAdmin(core, request, url);
  const { endpoint, route, allow } = matchRoute(method, url.pathname);
  core.stats.add('requests');
  core.stats.tally('byEndpoint', endpoint);
  core.stats.tally('byDataCenter', dc);

  let body: Buffer;
  try {
    body =
      method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readBody(request.body, core.options.maxBodyBytes);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    return json(413, { status: 'failure', error: 'request_too_large' }, { connection: 'close' });
  }
  if (route === undefined) {
    if (allow !== undefined) return json(405, { status: 'failure', error: 'method_not_allowed' }, { allow });
    if (url.pathname.startsWith('/crm/')) {
      return json(404, {
        code: 'INVALID_URL_PATTERN',
        details: {},
        message: 'Please check if the URL trying to access is a correct one',
        status: 'error',
      });
    }
    return json(404, { status: 'failure', error: 'not_found' });
  }

  let params: Promise<Map<string, string>> | undefined;
  const ctx: RequestContext = {
    core,
    dc,
    request,
    url,
    body,
    params: () => (params ??= readParams(request, url, body)),
    faulted: (category) => applyFaults(ctx, category),
  };
  try {
    return await route(ctx);
  } catch (error) {
    if (!(error instanceof BadBody)) throw error;
    core.stats.tally('byError', 'invalid_request');
    // Same conventions as the routes: the token endpoint answers errors with 200, revoke with 400.
    if (endpoint === 'POST /oauth/v2/token') return json(200, { error: 'invalid_request' });
    if (url.pathname.startsWith('/oauth/v2/auth'))
      return html(400, renderErrorPage('Invalid Request', 'Malformed request body.'));
    return json(400, { status: 'failure', error: 'invalid_request' });
  }
}

function matchRoute(method: string, path: string): { endpoint: string; route?: Route; allow?: string } {
  const only = (allowed: string, route: Route, endpoint = `${method} ${path}`) =>
    method === allowed ? { endpoint, route } : { endpoint, allow: allowed };
  switch (path) {
    case '/':
      return {
        endpoint: `${method} /`,
        route: async (ctx) => json(200, { service: 'zoho-emulator', location: ctx.dc }),
      };
    case '/oauth/v2/auth':
      return only('GET', handleAuthPage);
    case '/oauth/v2/auth/decision':
      return only('POST', handleDecision);
    case '/oauth/v2/token':
      return only('POST', handleToken);
    case '/oauth/v2/token/revoke':
    case '/oauth/v2/revoke/token':
      return only('POST', handleRevoke);
  }
  if (path === '/crm/v8' || path.startsWith('/crm/v8/')) {
    // Record ids become {id} so the per-endpoint counters stay few.
    const normalized = path.replace(/\/\d{6,}(?=\/|$)/g, '/{id}');
    return { endpoint: `${method} ${normalized}`, route: handleApi };
  }
  return { endpoint: 'other' };
}

async function applyFaults(ctx: RequestContext, category: RequestCategory): Promise<EmulatorReply | undefined> {
  const { core } = ctx;
  const target = TARGET[category];
  const decision = core.faults.take(target, ctx.dc);
  for (const kind of decision.applied) core.stats.fault(kind);
  if (decision.latencyMs > 0) {
    try {
      await sleep(decision.latencyMs, undefined, { signal: core.closing });
    } catch {
      return DROP; // the emulator is closing
    }
  }
  const fault = decision.fault;
  if (fault === undefined) return undefined;
  await observeFault(ctx, category, fault);
  switch (fault.kind) {
    case 'reset':
      bumpFaulted(core, category);
      return DROP;
    case 'status':
      bumpFaulted(core, category);
      // An API 401 is what a client sees for a revoked or evicted token: Zoho's JSON, not a proxy's page.
      if (category === 'api' && fault.status === 401) return json(401, INVALID_TOKEN);
      return html(fault.status, renderErrorPage(`${fault.status} Error`, 'Injected failure.'));
    case 'malformed': {
      bumpFaulted(core, category);
      const text = category === 'api' ? '{"data":[{"id":"57' : '{"access_token":"1000.';
      return raw(200, 'application/json;charset=UTF-8', text);
    }
    case 'throttle':
      if (category === 'api') {
        core.stats.add('apiErrors');
        core.stats.tally('byError', 'TOO_MANY_REQUESTS');
        const retryAfter = fault.retryAfterSeconds;
        return json(
          429,
          {
            code: 'TOO_MANY_REQUESTS',
            details: {},
            message: 'You have made too many requests. Please try again later.',
            status: 'error',
          },
          retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
        );
      }
      if (category === 'auth') return html(429, renderErrorPage('Too Many Requests', 'Injected throttle.'));
      if (category === 'refresh') core.stats.add('refreshThrottled');
      else if (category === 'grant') core.stats.add('grantErrors');
      else if (category === 'revoke') core.stats.add('revokeErrors');
      core.stats.tally('byError', 'Access Denied');
      return json(200, throttleBody(core));
  }
}

/** Tells the observer which token an injected fault hit (grant, refresh and API requests only). */
async function observeFault(
  ctx: RequestContext,
  category: RequestCategory,
  fault: NonNullable<FaultDecision['fault']>,
): Promise<void> {
  const observer = ctx.core.observer;
  if (observer?.onRequest === undefined || (category !== 'grant' && category !== 'refresh' && category !== 'api'))
    return;
  const token =
    category === 'api'
      ? accessTokenOf(ctx)
      : (await ctx.params()).get(category === 'refresh' ? 'refresh_token' : 'code');
  notify(observer, 'onRequest', {
    category,
    dc: ctx.dc,
    ...(token === undefined ? {} : { token }),
    fault: fault.kind,
    ...(fault.kind === 'status' ? { status: fault.status } : {}),
    outcome: 'faulted',
  });
}

function bumpFaulted(core: EmulatorCore, category: RequestCategory): void {
  if (category === 'grant') core.stats.add('grantFaulted');
  else if (category === 'refresh') core.stats.add('refreshFaulted');
  else if (category === 'revoke') core.stats.add('revokeFaulted');
  else if (category === 'api') core.stats.add('apiFaulted');
}
