import type { OAuthToken } from '../token/oauth-token.js';
import { describeEnvironment } from './data-center.js';
import { humanizeDuration } from './duration.js';
import { printable, type Column, type Output, type Style } from './output.js';

/** ZohoAuth's default refresh margin: within it, the next use of the token refreshes it. */
export const EXPIRING_MS = 300_000;

/**
 * What a stored token is good for now:
 * - `valid`: a usable access token; `expiring`: usable, but within 5 minutes of expiry;
 * - `expired` / `no access token`: the refresh token will mint a new one on next use;
 * - `login required`: neither a usable access token nor a refresh token (Zoho rejected the refresh
 *   token, or online access expired). A kept grant code does not help: ZohoAuth keeps used codes.
 */
export type TokenStatus = 'valid' | 'expiring' | 'expired' | 'no access token' | 'login required';

export function tokenStatus(token: OAuthToken, now: number): TokenStatus {
  if (token.accessToken && token.expiresAt != null && token.expiresAt > now) {
    return token.expiresAt - EXPIRING_MS > now ? 'valid' : 'expiring';
  }
  if (token.refreshToken) return token.accessToken ? 'expired' : 'no access token';
  return 'login required';
}

/** The colour of each status on a colour terminal: usable, mints one on next use, or needs a login. */
const STATUS_STYLE: Record<TokenStatus, Style> = {
  valid: 'green',
  expiring: 'yellow',
  expired: 'yellow',
  'no access token': 'yellow',
  'login required': 'red',
};

/**
 * The `--status` groups of `list`: `valid` has a usable access token now (`valid`, `expiring`);
 * `expired` has none but a refresh token mints one on next use (`expired`, `no access token`);
 * `dead` needs a new login (`login required`, what `purge --dead` deletes).
 */
export const STATUS_GROUPS = {
  valid: ['valid', 'expiring'],
  expired: ['expired', 'no access token'],
  dead: ['login required'],
} as const satisfies Record<string, readonly TokenStatus[]>;

export type StatusGroup = keyof typeof STATUS_GROUPS;

export function inStatusGroup(status: TokenStatus, group: StatusGroup): boolean {
  return (STATUS_GROUPS[group] as readonly TokenStatus[]).includes(status);
}

/** `59m 58s`, `expired 3h 2m ago`, or `-` without an access token expiry. */
export function expiresIn(token: OAuthToken, now: number): string {
  if (token.expiresAt == null) return '-';
  const left = token.expiresAt - now;
  return left > 0 ? humanizeDuration(left) : `expired ${humanizeDuration(left)} ago`;
}

/** The `--json` shape of one token; stable (docs/cli.md). Secrets redacted unless `--show-secrets`. */
export interface TokenView {
  id: string | null;
  user: string | null;
  clientId: string | null;
  clientSecret: string | null;
  refreshToken: string | null;
  accessToken: string | null;
  grantToken: string | null;
  expiresAt: number | null;
  expiresAtIso: string | null;
  expiresInMs: number | null;
  status: TokenStatus;
  environment: string;
  accountsUrl: string | null;
  apiDomain: string | null;
  redirectUrl: string | null;
}

export function tokenView(token: OAuthToken, out: Output, now: number): TokenView {
  const expiresAt = token.expiresAt ?? null;
  return {
    id: token.id ?? null,
    user: token.userName,
    clientId: token.clientId ?? null,
    clientSecret: out.secret(token.clientSecret),
    refreshToken: out.secret(token.refreshToken),
    accessToken: out.secret(token.accessToken),
    grantToken: out.secret(token.grantToken),
    expiresAt,
    expiresAtIso: expiresAt === null ? null : new Date(expiresAt).toISOString(),
    expiresInMs: expiresAt === null ? null : expiresAt - now,
    status: tokenStatus(token, now),
    environment: describeEnvironment(token),
    accountsUrl: token.accountsUrl ?? null,
    apiDomain: token.apiDomain ?? null,
    redirectUrl: token.redirectUrl ?? null,
  };
}

/** `show`'s human form: one field per line. */
export function tokenLines(token: OAuthToken, out: Output, now: number): string[] {
  const view = tokenView(token, out, now);
  const rows: [string, string | null][] = [
    ['id', view.id],
    ['user', view.user],
    ['client id', view.clientId],
    ['client secret', view.clientSecret],
    ['refresh token', view.refreshToken],
    ['access token', view.accessToken],
    ['grant token', view.grantToken],
    ['expires at', view.expiresAtIso === null ? null : `${view.expiresAtIso} (${expiresIn(token, now)})`],
    ['status', view.status],
    ['data center', view.environment],
    ['accounts url', view.accountsUrl],
    ['api domain', view.apiDomain],
    ['redirect url', view.redirectUrl],
  ];
  return rows.map(([name, value]) => `${name.padEnd(15)}${value === null ? '-' : printable(value)}`);
}

/** `token 3 (alice@example.com)` for messages, its values made printable. */
export function tokenLabel(token: OAuthToken): string {
  const who = token.userName ? ` (${printable(token.userName)})` : '';
  return `token ${printable(token.id ?? '?')}${who}`;
}

/** Sorts by numeric id (stores hand out numeric ids; others sort after, by text). */
export function byId(a: OAuthToken, b: OAuthToken): number {
  const x = Number(a.id);
  const y = Number(b.id);
  if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return String(a.id).localeCompare(String(b.id));
}

/** The token table of `list` and `purge`. */
export function listColumns(now: number): Column<OAuthToken>[] {
  return [
    { header: 'ID', value: (t) => t.id ?? '-' },
    { header: 'USER', value: (t) => t.userName ?? '-' },
    { header: 'CLIENT', value: (t) => t.clientId ?? '-' },
    { header: 'DATA CENTER', value: describeEnvironment },
    { header: 'EXPIRES IN', value: (t) => expiresIn(t, now) },
    { header: 'STATUS', value: (t) => tokenStatus(t, now), style: (t) => STATUS_STYLE[tokenStatus(t, now)] },
  ];
}
