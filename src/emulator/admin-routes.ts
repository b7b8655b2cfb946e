import { createHash, timingSafeEqual } from 'node:crypto';
import { isZohoTokenError } from '../errors.js';
import type { EmulatorCore } from './core.js';
import { decideConsent } from './consent-decision.js';
import { json, type EmulatorReply, type EmulatorRequest } from './exchange.js';
import type { FaultHandle, FaultSpec, FaultTarget } from './faults.js';
import { isEmail, issueGrantCode } from './grant-code.js';
import { BodyTooLarge, readBody } from './http-io.js';
import { newClientId, newClientSecret } from './ids.js';
import { invalid } from './invalid-argument.js';
import type { ClientRecord } from './state.js';
import { parseAdminDuration, parseAdminTime } from './admin-time.js';

/** Where the admin API lives: a prefix Zoho never uses, so it cannot be mistaken for Zoho's surface. */
export const ADMIN_PREFIX = '/__admin';

type Json = Record<string, unknown>;
type AdminAnswer = readonly [status: number, body: unknown];

const LOOPBACK_HOST = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d{1,5})?$/i;

/**
 * The admin HTTP API (`/__admin/…`, JSON in and out), served only when the `admin` option is set.
 * Admin requests bypass faults and stats: they are the test harness, not traffic under test.
 * Requests carrying an `Origin` header are refused (403): browsers have no business here, and a web
 * page must not be able to drive a loopback emulator.
 */
export async function handleAdmin(core: EmulatorCore, request: EmulatorRequest, url: URL): Promise<EmulatorReply> {
  const admin = core.options.admin!;
  if (request.header('origin') !== undefined)
    return json(403, { error: 'forbidden', message: 'the admin API does not serve browsers' });
  // Without a token, only loopback names: a DNS-rebinding page (same-origin, so no Origin header on
  // a GET) reaches us under its own host name.
  if (admin.token === undefined && !LOOPBACK_HOST.test(request.header('host') ?? ''))
    return json(403, {
      error: 'forbidden',
      message: 'without an admin token the admin API answers loopback host names only',
    });
  if (admin.token !== undefined && !sameSecret(bearerOf(request), admin.token))
    return json(
      401,
      { error: 'unauthorized', message: 'admin token missing or wrong' },
      { 'www-authenticate': 'Bearer' },
    );

  let body: Json;
  try {
    body = await readJson(request, core.options.maxBodyBytes);
  } catch (error) {
    if (error instanceof BodyTooLarge) return json(413, { error: 'request_too_large' }, { connection: 'close' });
    return json(400, { error: 'invalid_argument', message: (error as Error).message });
  }
  try {
    const [status, answer] = route(core, request.method, url, body);
    return json(status, answer);
  } catch (error) {
    if (isZohoTokenError(error)) {
      // Messages are ours and never carry a secret; `field` tells the caller what to fix.
      const status = error.code === 'THROTTLED' ? 429 : 400;
      return json(status, {
        error: error.code.toLowerCase(),
        message: error.message,
        ...(error.field === undefined ? {} : { field: error.field }),
        ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      });
    }
    throw error;
  }
}

function route(core: EmulatorCore, method: string, url: URL, body: Json): AdminAnswer {
  const path = url.pathname.slice(ADMIN_PREFIX.length).replace(/\/+$/, '') || '/';
  const segments = path.split('/').filter(Boolean);
  const notAllowed = (allow: string): AdminAnswer => [405, { error: 'method_not_allowed', allow }];
  const on = (handlers: Record<string, () => AdminAnswer>): AdminAnswer => {
    const handler = handlers[method];
    return handler === undefined ? notAllowed(Object.keys(handlers).join(', ')) : handler();
  };

  switch (path) {
    case '/':
      return on({ GET: () => [200, overview(core)] });
    case '/codes':
      return on({ POST: () => [201, mintCode(core, body)] });
    case '/consents':
      return on({ GET: () => [200, { consents: core.pending.list().map(({ query: _q, ...rest }) => rest) }] });
    case '/consents/approve':
      return on({ POST: () => [200, decidePending(core, body, true)] });
    case '/consents/deny':
      return on({ POST: () => [200, decidePending(core, body, false)] });
    case '/auto-approve':
      return on({
        GET: () => [200, { user: core.autoApprove?.user ?? null }],
        PUT: () => [200, setAutoApprove(core, body)],
      });
    case '/clock':
      return on({ GET: () => [200, clockView(core)], POST: () => [200, moveClock(core, body)] });
    case '/faults':
      return on({
        GET: () => [200, { faults: core.faults.list().map(faultView) }],
        POST: () => [201, faultView(core.faults.inject(faultSpec(body)))],
        DELETE: () => [200, clearFaults(core, url.searchParams.get('target'))],
      });
    case '/stats':
      return on({ GET: () => [200, core.stats.snapshot()], DELETE: () => [200, resetStats(core)] });
    case '/clients':
      return on({
        GET: () => [200, { clients: core.state.clients().map(clientView) }],
        POST: () => [201, addClient(core, body)],
      });
    case '/users':
      return on({ GET: () => [200, { users: usersView(core) }], POST: () => [201, addUser(core, body)] });
    case '/tokens':
      return on({ GET: () => [200, { now: core.clock.now(), tokens: core.state.listTokens() }] });
    case '/tokens/expire':
      return on({ POST: () => [200, { expired: core.state.expireAccessTokens() }] });
  }
  if (segments.length === 2 && segments[0] === 'faults') {
    return on({ DELETE: () => removeFault(core, segments[1]!) });
  }
  return [404, { error: 'not_found', message: `no admin route ${path}` }];
}

// --- routes ---------------------------------------------------------------------------------------

function overview(core: EmulatorCore): Json {
  const { options } = core;
  return {
    service: 'zoho-emulator-admin',
    defaultDataCenter: options.defaultDataCenter,
    dataCenters: Object.fromEntries(options.dataCenters.map((dc) => [dc, core.urlOf(dc)])),
    clock: clockView(core),
    accessTokenLifetimeSec: options.accessTokenLifetimeMs / 1000,
    limits: options.limits,
  };
}

function mintCode(core: EmulatorCore, body: Json): Json {
  const issued = issueGrantCode(core, {
    clientId: clientIdOf(core, body),
    user: body['user'] as string,
    scopes: body['scopes'] as string,
    ...(body['accessType'] === undefined ? {} : { accessType: body['accessType'] as 'offline' }),
    ...(body['expiresIn'] === undefined ? {} : { expiresInMs: parseAdminDuration(body['expiresIn'], 'expiresIn') }),
    ...(body['dc'] === undefined ? {} : { dc: body['dc'] as string }),
  });
  return { ...issued, accountsUrl: core.urlOf(issued.dc) };
}

/** The client named in the body, or the only one registered (so one-client setups need not name it). */
function clientIdOf(core: EmulatorCore, body: Json): string {
  const given = body['clientId'];
  if (given !== undefined) {
    if (typeof given !== 'string' || given === '') throw invalid('clientId', 'clientId must be a non-empty string');
    return given;
  }
  const clients = core.state.clients();
  if (clients.length !== 1)
    throw invalid('clientId', `clientId is required: the emulator has ${clients.length} clients`);
  return clients[0]!.clientId;
}

function decidePending(core: EmulatorCore, body: Json, approve: boolean): Json {
  let query: URLSearchParams;
  let dc: string | undefined;
  if (typeof body['url'] === 'string') {
    if (!URL.canParse(body['url'])) throw invalid('url', 'url must be an absolute authorization URL');
    const url = new URL(body['url']);
    query = url.searchParams;
    // The data center whose listener the URL names (a multi-DC client consents there).
    dc = core.options.dataCenters.find((loc) => new URL(core.urlOf(loc)).origin === url.origin);
  } else {
    const pending = core.pending.list();
    const id = body['id'];
    if (id !== undefined && typeof id !== 'string') throw invalid('id', 'id must be a string');
    // No id: the one pending consent, if there is exactly one.
    const found = id === undefined ? (pending.length === 1 ? pending[0] : undefined) : core.pending.get(id);
    if (found === undefined) {
      throw invalid(
        'id',
        id === undefined ? `give "id" or "url": ${pending.length} consents are pending` : `no pending consent "${id}"`,
      );
    }
    query = new URLSearchParams(found.query);
    dc = found.dc;
  }
  let user: string | undefined;
  if (approve) {
    user = body['user'] as string;
    if (!isEmail(user)) throw invalid('user', 'user must be an email');
  }
  if (body['dc'] !== undefined) {
    if (typeof body['dc'] !== 'string') throw invalid('dc', 'dc must be a string');
    dc = body['dc'];
  }
  return { location: decideConsent(core, query, user, dc) };
}

function setAutoApprove(core: EmulatorCore, body: Json): Json {
  const user = body['user'];
  if (user !== null && !isEmail(user)) throw invalid('user', 'user must be an email, or null to show the page again');
  core.autoApprove = user === null ? undefined : { user };
  return { user };
}

function clockView(core: EmulatorCore): Json {
  const now = core.clock.now();
  return { mode: core.options.clock, now, iso: new Date(now).toISOString() };
}

/** `{"advance": "3600s" | ms}` or `{"set": epochMs | ISO string}`; both modes accept both. */
function moveClock(core: EmulatorCore, body: Json): Json {
  const hasAdvance = body['advance'] !== undefined;
  const hasSet = body['set'] !== undefined;
  if (hasAdvance === hasSet) throw invalid('advance', 'give exactly one of "advance" or "set"');
  if (hasAdvance) core.clock.advance(parseAdminDuration(body['advance'], 'advance'));
  else core.clock.set(parseAdminTime(body['set'], 'set'));
  return clockView(core);
}

function faultSpec(body: Json): FaultSpec {
  for (const key of Object.keys(body)) {
    if (!['kind', 'target', 'dc', 'times', 'ms', 'status', 'retryAfterSeconds'].includes(key))
      throw invalid(key, `unknown fault field "${key}"`);
  }
  for (const key of ['times', 'ms', 'status', 'retryAfterSeconds']) {
    if (body[key] !== undefined && typeof body[key] !== 'number') throw invalid(key, `${key} must be a number`);
  }
  if (body['dc'] !== undefined && typeof body['dc'] !== 'string') throw invalid('dc', 'dc must be a string');
  return body as unknown as FaultSpec;
}

function faultView(handle: FaultHandle): Json {
  const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);
  return {
    id: handle.id,
    ...handle.spec,
    dc: handle.spec.dc ?? null,
    times: finite(handle.spec.times),
    remaining: finite(handle.remaining),
  };
}

function clearFaults(core: EmulatorCore, target: string | null): Json {
  const before = core.faults.list().length;
  if (target !== null && !['token', 'revoke', 'api', 'auth', 'all'].includes(target))
    throw invalid('target', `unknown fault target "${target}"`);
  core.faults.clear((target ?? undefined) as FaultTarget | undefined);
  return { removed: before - core.faults.list().length };
}

function removeFault(core: EmulatorCore, id: string): AdminAnswer {
  const handle = core.faults.list().find((f) => String(f.id) === id);
  if (handle === undefined) return [404, { error: 'not_found', message: `no active fault ${id}` }];
  handle.remove();
  return [200, { removed: 1 }];
}

function resetStats(core: EmulatorCore): Json {
  core.stats.reset();
  return { reset: true };
}

function clientView(client: ClientRecord): Json {
  // Never the secret: it was given (or printed) once, when the client was added.
  return {
    clientId: client.clientId,
    redirectUris: client.redirectUris,
    dc: client.dc,
    dataCenters: client.dataCenters,
  };
}

function addClient(core: EmulatorCore, body: Json): Json {
  const clientId = body['clientId'] ?? newClientId();
  const clientSecret = body['clientSecret'] ?? newClientSecret();
  const redirectUris = body['redirectUris'] ?? [];
  if (!Array.isArray(redirectUris) || redirectUris.some((u) => typeof u !== 'string'))
    throw invalid('redirectUris', 'redirectUris must be a list of URLs');
  if (body['dc'] !== undefined && typeof body['dc'] !== 'string') throw invalid('dc', 'dc must be a string');
  const enabled = body['dataCenters'];
  if (enabled !== undefined && (!Array.isArray(enabled) || enabled.some((dc) => typeof dc !== 'string')))
    throw invalid('dataCenters', 'dataCenters must be a list of data center locations');
  const record = core.state.addClient({
    clientId: clientId as string,
    clientSecret: clientSecret as string,
    redirectUris: redirectUris as string[],
    ...(body['dc'] === undefined ? {} : { dc: body['dc'] as string }),
    ...(enabled === undefined ? {} : { dataCenters: enabled as string[] }),
  });
  // The secret is answered once, here: the caller may have let the emulator generate it.
  return { ...clientView(record), clientSecret: record.clientSecret };
}

function usersView(core: EmulatorCore): Json[] {
  return core.options.dataCenters.flatMap((dc) =>
    core
      .crm(dc)
      .users()
      .map((u) => ({ email: u.email, dc, id: u.id, fullName: u.full_name })),
  );
}

function addUser(core: EmulatorCore, body: Json): Json {
  const email = body['email'];
  if (!isEmail(email)) throw invalid('email', 'email must be an email');
  const dcs = body['dataCenters'] ?? core.options.dataCenters;
  if (!Array.isArray(dcs) || dcs.some((dc) => typeof dc !== 'string' || !core.options.dataCenters.includes(dc)))
    throw invalid('dataCenters', `dataCenters must list served data centers (${core.options.dataCenters.join(', ')})`);
  return { email, users: (dcs as string[]).map((dc) => ({ dc, id: core.crm(dc).user(email).id })) };
}

// --- plumbing -------------------------------------------------------------------------------------

async function readJson(request: EmulatorRequest, limit: number): Promise<Json> {
  if (request.method === 'GET' || request.method === 'HEAD') return {};
  const raw = await readBody(request.body, limit);
  if (raw.length === 0) return {};
  // JSON only: a browser cannot send it cross-site without a preflight, which is never answered.
  const type = (request.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new Error('admin request bodies must be application/json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new Error('the request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error('the request body must be a JSON object');
  return parsed as Json;
}

function bearerOf(request: EmulatorRequest): string {
  return /^Bearer\s+(\S+)\s*$/i.exec(request.header('authorization') ?? '')?.[1] ?? '';
}

/** Constant-time comparison (of digests, so lengths leak nothing either). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
