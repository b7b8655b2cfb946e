import { randomBytes } from 'node:crypto';
import type { CrmRecord, CrmStore } from './crm-store.js';
import { zohoTime } from './crm-store.js';

/** Zoho's cap on records reachable with `page`/`per_page`; beyond it only `page_token` goes on. */
const DISCRETE_LIMIT = 2000;
const TOKEN_LIFETIME_MS = 24 * 3_600_000;

interface PageToken {
  readonly offset: number;
  readonly perPage: number;
  readonly expires: number;
}

// Page tokens live beside each data center's CRM store (no field added to it).
const tokensOf = new WeakMap<CrmStore, Map<string, PageToken>>();

function apiError(code: string, message: string, details: Record<string, unknown> = {}): Record<string, unknown> {
  return { code, details, message, status: 'error' };
}

function intParam(url: URL, name: string, min: number, max: number, fallback: number): number {
  const n = Number.parseInt(url.searchParams.get(name) ?? '', 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}

/**
 * One page of `records` as Zoho's list APIs (v8) answer it: `per_page` (1-200, default 200; out of range is clamped) and
 * `page` (default 1) reach the first 2000 records; `page_token` (the previous page's
 * `info.next_page_token`, valid 24 hours) goes past them. `info` is Zoho's block: `per_page`,
 * `count`, `page`, `more_records`, `next_page_token`, `previous_page_token`, `page_token_expiry`.
 * An empty page answers 204. `now` is the emulator clock; `project` shapes each record.
 */
export function listPage(
  crm: CrmStore,
  records: readonly CrmRecord[],
  url: URL,
  now: number,
  project: (record: CrmRecord) => unknown,
): readonly [status: number, body?: unknown] {
  const perPage = intParam(url, 'per_page', 1, 200, 200);
  const tokens = tokensOf.get(crm) ?? new Map<string, PageToken>();
  tokensOf.set(crm, tokens);
  const tokenParam = url.searchParams.get('page_token');
  let offset: number;
  if (tokenParam !== null) {
    const token = tokens.get(tokenParam);
    if (token === undefined || token.expires <= now) {
      return [400, apiError('INVALID_DATA', 'the page token given seems to be invalid', { param_name: 'page_token' })];
    }
    offset = token.offset;
  } else {
    const page = intParam(url, 'page', 1, Number.MAX_SAFE_INTEGER, 1);
    if (page * perPage > DISCRETE_LIMIT) {
      return [
        400,
        apiError(
          'DISCRETE_PAGINATION_LIMIT_EXCEEDED',
          `you cannot fetch more than ${DISCRETE_LIMIT} records with page and per_page; use page_token`,
          { limit: DISCRETE_LIMIT },
        ),
      ];
    }
    offset = (page - 1) * perPage;
  }
  const slice = records.slice(offset, offset + perPage);
  if (slice.length === 0) return [204];
  const more = offset + perPage < records.length;
  let next: string | null = null;
  const expires = now + TOKEN_LIFETIME_MS;
  if (more) {
    next = randomBytes(32).toString('hex');
    tokens.set(next, { offset: offset + perPage, perPage, expires });
  }
  let previous: string | null = null;
  if (offset > 0) {
    previous = randomBytes(32).toString('hex');
    tokens.set(previous, { offset: Math.max(0, offset - perPage), perPage, expires });
  }
  return [
    200,
    {
      data: slice.map(project),
      info: {
        per_page: perPage,
        next_page_token: next,
        count: slice.length,
        page: Math.floor(offset / perPage) + 1,
        previous_page_token: previous,
        page_token_expiry: more || offset > 0 ? zohoTime(expires) : null,
        more_records: more,
      },
    },
  ];
}
