import { invalid } from './invalid-argument.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration for the admin API: a number of milliseconds, or text such as `3600s`, `11m`,
 * `1h30m`, `250ms`, `2d` (a bare number in text is milliseconds too).
 */
export function parseAdminDuration(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw invalid(field, `${field} must be a duration >= 0`);
    return value;
  }
  if (typeof value !== 'string') throw invalid(field, `${field} must be milliseconds or a duration such as 3600s`);
  const text = value.trim().toLowerCase();
  if (/^\d+$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (text === '' || parts.map((p) => p[0]).join('') !== text)
    throw invalid(field, `${field} must be milliseconds or a duration such as 3600s, 11m, 1h30m`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_MS[unit!]!, 0);
}

/** An instant for the admin API: epoch milliseconds, or an ISO 8601 date-time string. */
export function parseAdminTime(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw invalid(field, `${field} must be epoch milliseconds or an ISO date-time such as 2030-01-01T00:00:00Z`);
}
