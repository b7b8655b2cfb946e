import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderErrorPage } from './consent-page.js';
import type { EmulatorCore } from './core.js';
import { handleApi, INVALID_TOKEN } from './crm-routes.js';
import type { FaultDecision, FaultTarget } from './faults.js';
import { BadBody, BodyTooLarge, readBody, readParams, sendHtml, sendJson } from './http-io.js';
import { notify } from './observer.js';
import { handleAuthPage, handleDecision, handleRevoke, handleToken, throttleBody } from './oauth-routes.js';

/** Request kinds with their own counters in the stats. */
export type RequestCategory = 'auth' | 'grant' | 'refresh' | 'token' | 'revoke' | 'api';

/** What a route gets: the request, its parsed pieces and the fault gate. */
export interface RequestContext {
  readonly core: EmulatorCore;
  /** The data center whose listener got the request. */
  readonly dc: string;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** Raw body (empty for GET). */
  readonly body: Buffer;
  /** Query + body + Basic credentials, for OAuth routes. */
  params(): Promise<Map<string, string>>;
  /**
   * Applies the injected faults for this request (call once, after classifying it). Returns true
   * when a fault already answered (or dropped) the request and the route must stop.
   */
  faulted(category: RequestCategory): Promise<boolean>;
}

type Route = (ctx: RequestContext) => Promise<void>;

const TARGET: Record<RequestCategory, Exclude<FaultTarget, 'all'>> = {
  auth: 'auth',
  grant: 'token',
  refresh: 'token',
  token: 'token',
  revoke: 'revoke',
  api: 'api',
};

/**
 * A plain `(req, res)` handler for one data center, usable with any `node:http` server. All
 * state lives in `core`; nothing here is global.
 */
export function createRequestHandler(
  core: EmulatorCore,
  dc: string,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // Zoho's servers stamp every answer; ours stamps it from the emulator's clock (not Node's wall
    // clock), so clients measuring clock skew measure it against the emulated server.
    res.setHeader('date', new Date(core.clock.now()).toUTCString());
    handle(core, dc, req, res).catch((error: unknown) => internalError(res, error));
  };
}

async function handle(core: EmulatorCore, dc: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://emulator.invalid');
  const method = req.method ?? 'GET';
  const { endpoint, route, allow } = matchRoute(method, url.pathname);
  core.stats.add('requests');
  core.stats.tally('byEndpoint', endpoint);
  core.stats.tally('byDataCenter', dc);

  let body: Buffer;
  try {
    body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readBody(req, core.options.maxBodyBytes);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    res.setHeader('connection', 'close');
    sendJson(res, 413, { status: 'failure', error: 'request_too_large' });
    return;
  }
  if (route === undefined) {
    if (allow !== undefined) {
      res.setHeader('allow', allow);
      sendJson(res, 405, { status: 'failure', error: 'method_not_allowed' });
    } else if (url.pathname.startsWith('/crm/')) {
      sendJson(res, 404, {
        code: 'INVALID_URL_PATTERN',
        details: {},
        message: 'Please check if the URL trying to access is a correct one',
        status: 'error',
      });
    } else {
      sendJson(res, 404, { status: 'failure', error: 'not_found' });
    }
    return;
  }

  let params: Promise<Map<string, string>> | undefined;
  const ctx: RequestContext = {
    core,
    dc,
    req,
    res,
    url,
    body,
    params: () => (params ??= readParams(req, url, body)),
    faulted: (category) => applyFaults(ctx, category),
  };
  try {
    await route(ctx);
  } catch (error) {
    if (!(error instanceof BadBody)) throw error;
    core.stats.tally('byError', 'invalid_request');
    if (res.headersSent) return;
    // Same conventions as the routes: the token endpoint answers errors with 200, revoke with 400.
    if (endpoint === 'POST /oauth/v2/token') sendJson(res, 200, { error: 'invalid_request' });
    else if (url.pathname.startsWith('/oauth/v2/auth'))
      sendHtml(res, 400, renderErrorPage('Invalid Request', 'Malformed request body.'));
    else sendJson(res, 400, { status: 'failure', error: 'invalid_request' });
  }
}

function matchRoute(method: string, path: string): { endpoint: string; route?: Route; allow?: string } {
  const only = (allowed: string, route: Route, endpoint = `${method} ${path}`) =>
    method === allowed ? { endpoint, route } : { endpoint, allow: allowed };
  switch (path) {
    case '/':
      return {
        endpoint: `${method} /`,
        route: async (ctx) => sendJson(ctx.res, 200, { service: 'zoho-emulator', location: ctx.dc }),
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

async function applyFaults(ctx: RequestContext, category: RequestCategory): Promise<boolean> {
  const { core, res } = ctx;
  const target = TARGET[category];
  const decision = core.faults.take(target, ctx.dc);
  for (const kind of decision.applied) core.stats.fault(kind);
  if (decision.latencyMs > 0) {
    try {
      await sleep(decision.latencyMs, undefined, { signal: core.closing });
    } catch {
      ctx.req.socket.destroy(); // the emulator is closing
      return true;
    }
  }
  const fault = decision.fault;
  if (fault === undefined) return false;
  await observeFault(ctx, category, fault);
  switch (fault.kind) {
    case 'reset':
      bumpFaulted(core, category);
      ctx.req.socket.destroy();
      return true;
    case 'status':
      bumpFaulted(core, category);
      // An API 401 is what a client sees for a revoked or evicted token: Zoho's JSON, not a proxy's page.
      if (category === 'api' && fault.status === 401) sendJson(res, 401, INVALID_TOKEN);
      else sendHtml(res, fault.status, renderErrorPage(`${fault.status} Error`, 'Injected failure.'));
      return true;
    case 'malformed': {
      bumpFaulted(core, category);
      const text = category === 'api' ? '{"data":[{"id":"57' : '{"access_token":"1000.';
      res.writeHead(200, {
        'content-type': 'application/json;charset=UTF-8',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
      return true;
    }
    case 'throttle':
      if (category === 'api') {
        core.stats.add('apiErrors');
        core.stats.tally('byError', 'TOO_MANY_REQUESTS');
        sendJson(res, 429, {
          code: 'TOO_MANY_REQUESTS',
          details: {},
          message: 'You have made too many requests. Please try again later.',
          status: 'error',
        });
      } else if (category === 'auth') {
        sendHtml(res, 429, renderErrorPage('Too Many Requests', 'Injected throttle.'));
      } else {
        if (category === 'refresh') core.stats.add('refreshThrottled');
        else if (category === 'grant') core.stats.add('grantErrors');
        else if (category === 'revoke') core.stats.add('revokeErrors');
        core.stats.tally('byError', 'Access Denied');
        sendJson(res, 200, throttleBody(core));
      }
      return true;
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
      ? /^Zoho-oauthtoken\s+(\S+)\s*$/i.exec(ctx.req.headers.authorization ?? '')?.[1]
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

function internalError(res: ServerResponse, error: unknown): void {
  // Never echo the error: it could carry request data (tokens, secrets).
  void error;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, 500, { status: 'failure', error: 'internal_error' });
}
