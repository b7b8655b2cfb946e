import { apiError, INVALID_REQUEST_METHOD, type Answer, type ApiCall } from './crm-api.js';
import { attachmentsPath, attachmentsRoute, isReply } from './crm-attachments.js';
import { findModule, type ModuleSpec } from './crm-metadata.js';
import {
  countRecords,
  createRecords,
  deleteRecords,
  getRecord,
  listRecords,
  updateRecords,
  upsertRecords,
} from './crm-records.js';
import { searchRecords } from './crm-search.js';
import { getFields, getModules } from './crm-settings.js';
import { empty, json, type EmulatorReply } from './exchange.js';
import { notify } from './observer.js';
import type { RequestContext } from './request-context.js';
import { scopesCover } from './scopes.js';

export const INVALID_TOKEN = apiError('INVALID_TOKEN', 'invalid oauth token');
const AUTHENTICATION_FAILURE = apiError('AUTHENTICATION_FAILURE', 'Authentication failed');
const SCOPE_MISMATCH = apiError('OAUTH_SCOPE_MISMATCH', 'invalid oauth scope to access this URL');

/** `/crm/v8/…`: authenticates the `Zoho-oauthtoken`, then routes; answers Zoho's JSON shapes. */
export async function handleApi(ctx: RequestContext): Promise<EmulatorReply> {
  const { core, dc } = ctx;
  core.stats.add('apiRequests');
  const faulted = await ctx.faulted('api');
  if (faulted !== undefined) return faulted;
  const token = accessTokenOf(ctx);
  const reply = (status: number, body?: unknown): EmulatorReply => {
    const code =
      status >= 400 && typeof body === 'object' && body !== null && 'code' in body ? String(body.code) : String(status);
    notify(core.observer, 'onRequest', {
      category: 'api',
      dc,
      ...(token === undefined ? {} : { token }),
      outcome: status < 400 ? 'ok' : code,
    });
    core.stats.add(status < 400 ? 'apiSuccesses' : 'apiErrors');
    if (status >= 400 && typeof body === 'object' && body !== null && 'code' in body)
      core.stats.tally('byError', String(body.code));
    return body === undefined ? empty(status) : json(status, body);
  };

  if (token === undefined) return reply(401, AUTHENTICATION_FAILURE);
  const access = core.state.checkAccess(token, dc);
  if (!access.ok) {
    // A token from another DC is always INVALID_TOKEN; dead ones follow the option.
    const dead = access.reason === 'dead' && core.options.deadTokenError === 'AUTHENTICATION_FAILURE';
    return reply(401, dead ? AUTHENTICATION_FAILURE : INVALID_TOKEN);
  }
  const crm = core.crm(dc);
  const call: ApiCall = { ctx, crm, user: crm.user(access.user), scopes: access.scopes };
  const attachments = attachmentsPath(ctx.url.pathname);
  if (attachments !== undefined) {
    const findRecord = (module: string, id: string) => crm.record(findModule(module)?.apiName ?? module, id);
    const answer = await attachmentsRoute({ ...call, findRecord }, attachments);
    if (!isReply(answer)) return reply(answer[0], answer[1]);
    reply(answer.kind === 'answer' ? answer.status : 500); // counted and observed like any answer
    return answer;
  }
  const [status, body] = route(call);
  return reply(status, body);
}

/**
 * The access token of the Authorization header, if any. Zoho takes `Zoho-oauthtoken <token>` or,
 * per its accounts documentation ("Using the Access token"), `Bearer <token>`; scheme names are
 * case-insensitive (RFC 9110 §11.1). Any other scheme answers `AUTHENTICATION_FAILURE`.
 */
export function accessTokenOf(ctx: RequestContext): string | undefined {
  return /^(?:Zoho-oauthtoken|Bearer)\s+(\S+)\s*$/i.exec(ctx.request.header('authorization') ?? '')?.[1];
}

/** What a route's path placeholders matched. */
export interface RouteParams {
  /** `{module}`: a module the org has. */
  readonly module?: ModuleSpec;
  /** `{id}`: a record id as given. */
  readonly id?: string;
}

/** The scope a route needs: groups such as `['modules', 'leads']` and the accepted operations. */
export interface RouteScope {
  readonly groups: readonly string[];
  /** Any of these (besides `ALL`) grants access, e.g. `['CREATE', 'WRITE']`. */
  readonly operations: readonly string[];
}

/**
 * One CRM API route. `path` lists the segments after `/crm/v8`: literals match exactly,
 * `{module}` matches a module of the org (case-insensitively; another capitalized name is
 * INVALID_MODULE) and `{id}` any segment. The first route whose path matches wins; a matching
 * path with another method is INVALID_REQUEST_METHOD.
 */
export interface CrmRoute {
  readonly method: string;
  readonly path: readonly string[];
  readonly scope: (params: RouteParams) => RouteScope;
  readonly handle: (call: ApiCall, params: RouteParams) => Answer;
}

const moduleScope =
  (...operations: string[]) =>
  (params: RouteParams): RouteScope => ({
    groups: ['modules', params.module!.apiName.toLowerCase()],
    operations,
  });
const fixedScope = (groups: string[], operations: string[]) => (): RouteScope => ({ groups, operations });

/**
 * The routes served, in matching order. More can be added with {@link addCrmRoutes} (in their own
 * files, e.g. attachments).
 */
const ROUTES: CrmRoute[] = [
  {
    method: 'GET',
    path: ['users'],
    scope: fixedScope(['users'], ['READ']),
    handle: (call) => {
      const type = call.ctx.url.searchParams.get('type') ?? 'AllUsers';
      const users = type === 'CurrentUser' ? [call.user] : call.crm.users();
      return [200, { users, info: { per_page: 200, count: users.length, page: 1, more_records: false } }];
    },
  },
  {
    method: 'GET',
    path: ['org'],
    scope: fixedScope(['org'], ['READ']),
    handle: (call) => [200, { org: [call.crm.org] }],
  },
  {
    method: 'GET',
    path: ['settings', 'modules'],
    scope: fixedScope(['settings', 'modules'], ['READ']),
    handle: (call) => getModules(call),
  },
  {
    method: 'GET',
    path: ['settings', 'modules', '{module}'],
    scope: fixedScope(['settings', 'modules'], ['READ']),
    handle: (call, { module }) => getModules(call, module),
  },
  {
    method: 'GET',
    path: ['settings', 'fields'],
    scope: fixedScope(['settings', 'fields'], ['READ']),
    handle: (call) => getFields(call),
  },
  {
    method: 'GET',
    path: ['{module}', 'search'],
    scope: moduleScope('READ'),
    handle: (call, { module }) => searchRecords(call, module!),
  },
  {
    method: 'GET',
    path: ['{module}', 'actions', 'count'],
    scope: moduleScope('READ'),
    handle: (call, { module }) => countRecords(call, module!),
  },
  {
    method: 'POST',
    path: ['{module}', 'upsert'],
    scope: moduleScope('CREATE', 'WRITE'),
    handle: (call, { module }) => upsertRecords(call, module!),
  },
  { method: 'GET', path: ['{module}'], scope: moduleScope('READ'), handle: (c, p) => listRecords(c, p.module!) },
  {
    method: 'POST',
    path: ['{module}'],
    scope: moduleScope('CREATE', 'WRITE'),
    handle: (c, p) => createRecords(c, p.module!),
  },
  {
    method: 'PUT',
    path: ['{module}'],
    scope: moduleScope('UPDATE', 'WRITE'),
    handle: (c, p) => updateRecords(c, p.module!),
  },
  {
    method: 'DELETE',
    path: ['{module}'],
    scope: moduleScope('DELETE', 'WRITE'),
    handle: (c, p) => deleteRecords(c, p.module!),
  },
  {
    method: 'GET',
    path: ['{module}', '{id}'],
    scope: moduleScope('READ'),
    handle: (c, p) => getRecord(c, p.module!, p.id!),
  },
  {
    method: 'PUT',
    path: ['{module}', '{id}'],
    scope: moduleScope('UPDATE', 'WRITE'),
    handle: (c, p) => updateRecords(c, p.module!, p.id!),
  },
  {
    method: 'DELETE',
    path: ['{module}', '{id}'],
    scope: moduleScope('DELETE', 'WRITE'),
    handle: (c, p) => deleteRecords(c, p.module!, p.id!),
  },
];

/** Adds routes, matched after the built-in ones (for routes in files of their own, e.g. attachments). */
export function addCrmRoutes(...routes: CrmRoute[]): void {
  ROUTES.push(...routes);
}

/** Segments that are never module names. */
const RESERVED = new Set(['users', 'org', 'settings']);

type Match = { route: CrmRoute; params: RouteParams } | { unknownModule: true } | undefined;

function match(route: CrmRoute, parts: readonly string[]): Match {
  if (route.path.length !== parts.length) return undefined;
  let module: ModuleSpec | undefined;
  let id: string | undefined;
  for (let i = 0; i < parts.length; i++) {
    const pattern = route.path[i]!;
    const part = parts[i]!;
    if (pattern === '{module}') {
      if (RESERVED.has(part)) return undefined;
      module = findModule(part);
      // A capitalized name that is no module: Zoho's INVALID_MODULE rather than a bad URL.
      if (module === undefined) return /^[A-Z][A-Za-z0-9_]*$/.test(part) ? { unknownModule: true } : undefined;
    } else if (pattern === '{id}') id = part;
    else if (pattern !== part) return undefined;
  }
  return { route, params: { ...(module === undefined ? {} : { module }), ...(id === undefined ? {} : { id }) } };
}

function route(call: ApiCall): Answer {
  const { ctx } = call;
  const parts = ctx.url.pathname.split('/').filter(Boolean).slice(2); // drop "crm", "v8"
  let pathMatched = false;
  let unknownModule = false;
  for (const candidate of ROUTES) {
    const found = match(candidate, parts);
    if (found === undefined) continue;
    if ('unknownModule' in found) {
      unknownModule = true;
      continue;
    }
    if (candidate.method !== ctx.request.method) {
      pathMatched = true;
      continue;
    }
    const scope = candidate.scope(found.params);
    const granted = scope.operations.some((operation) => scopesCover(call.scopes, { groups: scope.groups, operation }));
    if (!granted) return [401, SCOPE_MISMATCH];
    return candidate.handle(call, found.params);
  }
  if (pathMatched) return INVALID_REQUEST_METHOD;
  if (unknownModule) {
    return [400, apiError('INVALID_MODULE', 'the module name given seems to be invalid', { resource_path_index: 0 })];
  }
  return [404, apiError('INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one')];
}
