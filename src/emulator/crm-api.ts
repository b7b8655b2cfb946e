import type { CrmStore, CrmUser } from './crm-store.js';
import type { RequestContext } from './request-context.js';

/** One authenticated CRM API call, as the route handlers get it. */
export interface ApiCall {
  readonly ctx: RequestContext;
  readonly crm: CrmStore;
  /** The user the access token belongs to. */
  readonly user: CrmUser;
  readonly scopes: readonly string[];
}

/** A route's answer: the HTTP status and the JSON body (none: an empty body, as 204). */
export type Answer = readonly [status: number, body?: unknown];

/** Zoho's error object, used both as a whole body and per record inside `data`. */
export function apiError(
  code: string,
  message: string,
  details: Record<string, unknown> = {},
): Record<string, unknown> {
  return { code, details, message, status: 'error' };
}

/** `info` of a list or search answer. */
export function info(count: number, page: number, perPage: number, more: boolean): Record<string, unknown> {
  return { per_page: perPage, count, page, more_records: more };
}

export const INVALID_REQUEST_METHOD: Answer = [
  400,
  apiError('INVALID_REQUEST_METHOD', 'The http request method type is not a valid one'),
];

export function requiredParamMissing(param: string): Answer {
  return [400, apiError('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param })];
}

/** `page` and `per_page` as Zoho reads them: per_page 1–200 (default 200), page ≥ 1. */
export function paging(url: URL): { page: number; perPage: number } {
  return {
    perPage: clampInt(url.searchParams.get('per_page'), 1, 200, 200),
    page: clampInt(url.searchParams.get('page'), 1, Number.MAX_SAFE_INTEGER, 1),
  };
}

function clampInt(raw: string | null, min: number, max: number, fallback: number): number {
  const n = raw === null ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}
