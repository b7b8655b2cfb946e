import { attachmentsPath, attachmentsRoute, isReply } from './crm-attachments.js';
import { listPage } from './crm-paging.js';
import type { CrmRecord, CrmStore, CrmUser } from './crm-store.js';
import { empty, json, type EmulatorReply } from './exchange.js';
import { notify } from './observer.js';
import type { RequestContext } from './request-context.js';
import { scopesCover, type ScopeNeed } from './scopes.js';

const MAX_RECORDS_PER_INSERT = 100;

function apiError(code: string, message: string, details: Record<string, unknown> = {}): Record<string, unknown> {
  return { code, details, message, status: 'error' };
}

export const INVALID_TOKEN = apiError('INVALID_TOKEN', 'invalid oauth token');
const AUTHENTICATION_FAILURE = apiError('AUTHENTICATION_FAILURE', 'Authentication failed');
const SCOPE_MISMATCH = apiError('OAUTH_SCOPE_MISMATCH', 'invalid oauth scope to access this URL');

interface ApiCall {
  readonly ctx: RequestContext;
  readonly crm: CrmStore;
  readonly user: CrmUser;
  readonly scopes: readonly string[];
}

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
    const findRecord = (module: string, id: string) => (module.toLowerCase() === 'leads' ? crm.lead(id) : undefined);
    const answer = await attachmentsRoute({ ...call, findRecord }, attachments);
    if (!isReply(answer)) return reply(answer[0], answer[1]);
    reply(answer.kind === 'answer' ? answer.status : 500); // counted and observed like any answer
    return answer;
  }
  const [status, body] = route(call);
  return reply(status, body);
}

/** The access token of a `Zoho-oauthtoken` Authorization header, if any. */
export function accessTokenOf(ctx: RequestContext): string | undefined {
  return /^Zoho-oauthtoken\s+(\S+)\s*$/i.exec(ctx.request.header('authorization') ?? '')?.[1];
}

type Answer = readonly [status: number, body?: unknown];

function route(call: ApiCall): Answer {
  const { ctx } = call;
  const method = ctx.request.method;
  const parts = ctx.url.pathname.split('/').filter(Boolean).slice(2); // drop "crm", "v8"
  const [first, second, ...rest] = parts;
  const need = (groups: string[], operation: string): boolean =>
    scopesCover(call.scopes, { groups, operation } satisfies ScopeNeed);
  const wrongMethod: Answer = [
    400,
    apiError('INVALID_REQUEST_METHOD', 'The http request method type is not a valid one'),
  ];

  if (first === 'users' && second === undefined) {
    if (method !== 'GET') return wrongMethod;
    if (!need(['users'], 'READ')) return [401, SCOPE_MISMATCH];
    const type = ctx.url.searchParams.get('type') ?? 'AllUsers';
    const users = type === 'CurrentUser' ? [call.user] : call.crm.users();
    return [200, { users, info: info(users.length, 1, 200, false) }];
  }
  if (first === 'org' && second === undefined) {
    if (method !== 'GET') return wrongMethod;
    if (!need(['org'], 'READ')) return [401, SCOPE_MISMATCH];
    return [200, { org: [call.crm.org] }];
  }
  if (first === 'settings' && second === 'modules' && rest.length === 0) {
    if (method !== 'GET') return wrongMethod;
    if (!need(['settings', 'modules'], 'READ')) return [401, SCOPE_MISMATCH];
    return [200, { modules: [LEADS_MODULE] }];
  }
  if (first !== undefined && first.toLowerCase() === 'leads' && rest.length === 0) {
    if (second === undefined && method === 'GET') {
      if (!need(['modules', 'leads'], 'READ')) return [401, SCOPE_MISMATCH];
      return listLeads(call);
    }
    if (second === undefined && method === 'POST') {
      if (!need(['modules', 'leads'], 'CREATE')) return [401, SCOPE_MISMATCH];
      return createLeads(call);
    }
    if (second !== undefined && method === 'GET') {
      if (!need(['modules', 'leads'], 'READ')) return [401, SCOPE_MISMATCH];
      const record = call.crm.lead(second);
      // Zoho answers 204 No Content for an id that does not exist.
      return record === undefined ? [204] : [200, { data: [project(record, fieldsParam(ctx.url))] }];
    }
    return wrongMethod;
  }
  if (first !== undefined && /^[A-Z][A-Za-z0-9_]*$/.test(first) && !['users', 'org', 'settings'].includes(first)) {
    return [400, apiError('INVALID_MODULE', 'the module name given seems to be invalid', { resource_path_index: 0 })];
  }
  return [404, apiError('INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one')];
}

function listLeads(call: ApiCall): Answer {
  const { ctx } = call;
  const fields = fieldsParam(ctx.url);
  return listPage(call.crm, call.crm.leads(), ctx.url, ctx.core.clock.now(), (r) => project(r, fields));
}

function createLeads(call: ApiCall): Answer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(call.ctx.body.toString('utf8'));
  } catch {
    return [400, apiError('INVALID_DATA', 'body')];
  }
  const data = typeof parsed === 'object' && parsed !== null && 'data' in parsed ? parsed.data : undefined;
  if (!Array.isArray(data) || data.length === 0) {
    return [400, apiError('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'data' })];
  }
  if (data.length > MAX_RECORDS_PER_INSERT) {
    return [400, apiError('LIMIT_EXCEEDED', 'Maximum number of records exceeded', { limit: MAX_RECORDS_PER_INSERT })];
  }
  const results = data.map((item: unknown, index: number) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      return apiError('INVALID_DATA', 'invalid data', { expected_data_type: 'jsonobject', index });
    }
    const fields = item as Record<string, unknown>;
    if (typeof fields['Last_Name'] !== 'string' || fields['Last_Name'] === '') {
      return apiError('MANDATORY_NOT_FOUND', 'required field not found', {
        api_name: 'Last_Name',
        json_path: `$.data[${index}].Last_Name`,
      });
    }
    const record = call.crm.addLead(withoutSystemFields(fields), call.user);
    const by = { name: call.user.full_name, id: call.user.id };
    return {
      code: 'SUCCESS',
      details: {
        Modified_Time: record['Modified_Time'],
        Modified_By: by,
        Created_Time: record['Created_Time'],
        id: record.id,
        Created_By: by,
      },
      message: 'record added',
      status: 'success',
    };
  });
  const ok = results.filter((r) => r['status'] === 'success').length;
  // All added: 201; some: 207 (multi-status); none: 400 — as Zoho's insert API.
  return [ok === results.length ? 201 : ok === 0 ? 400 : 207, { data: results }];
}

const SYSTEM_FIELDS = new Set(['id', 'Owner', 'Created_By', 'Modified_By', 'Created_Time', 'Modified_Time']);

function withoutSystemFields(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([key]) => !SYSTEM_FIELDS.has(key)));
}

function fieldsParam(url: URL): string[] | undefined {
  const raw = url.searchParams.get('fields');
  return raw === null
    ? undefined
    : raw
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean);
}

/** `fields=` is optional here (Zoho v8 requires it); when given, only those fields and `id` come back. */
function project(record: CrmRecord, fields: string[] | undefined): Record<string, unknown> {
  if (fields === undefined) return record;
  return Object.fromEntries(Object.entries(record).filter(([key]) => key === 'id' || fields.includes(key)));
}

function info(count: number, page: number, perPage: number, more: boolean): Record<string, unknown> {
  return { per_page: perPage, count, page, more_records: more };
}

const LEADS_MODULE = Object.freeze({
  api_name: 'Leads',
  module_name: 'Leads',
  singular_label: 'Lead',
  plural_label: 'Leads',
  api_supported: true,
  creatable: true,
  viewable: true,
  generated_type: 'default',
});
