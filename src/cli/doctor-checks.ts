import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { accountsUrlOf, isBound } from '../auth/data-center-binding.js';
import { ServerClock } from '../auth/server-clock.js';
import { describeOrigin, originOf, TrustedEndpoints } from '../auth/trusted-endpoints.js';
import { isEncryptedValue } from '../crypto/field-cipher.js';
import { DEFAULT_KEYS_ENV } from '../crypto/parse-keys.js';
import { isZohoTokenError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { Environment } from '../oauth/environment.js';
import type { EncryptedStore } from '../stores/encrypted.js';
import { COLUMNS, OFFICIAL_COLUMNS } from '../stores/kit/columns.js';
import type { LockInspection, StoreInspection } from '../stores/kit/store-inspection.js';
import { SECRET_FIELDS, type OAuthToken } from '../token/oauth-token.js';
import { environmentOfToken } from './data-center.js';
import { humanizeDuration } from './duration.js';
import { printable } from './output.js';
import { EXPIRING_MS, tokenStatus } from './token-view.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One finding of `zoho-tokens doctor`; `hint` says what to do when it is not ok. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  hint: string | null;
}

export const check = (name: string, status: CheckStatus, detail: string, hint: string | null = null): CheckResult => ({
  name,
  status,
  detail,
  hint,
});

/** At most a few ids in a message: a store of thousands must not print thousands. */
function ids(tokens: readonly OAuthToken[]): string {
  const shown = tokens.slice(0, 5).map((t) => printable(t.id ?? '?'));
  return tokens.length > 5 ? `${shown.join(', ')} and ${tokens.length - 5} more` : shown.join(', ');
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The SQL store's columns against ours, in the official SDKs' order (they read rows by position). */
export function schemaCheck(what: string, table: string, inspection: StoreInspection): CheckResult {
  const { columns, lockColumns } = inspection;
  if (columns.length === 0)
    return check('schema', 'fail', `${what}: table ${table} is missing`, 'open the store once with write access');
  const missing = COLUMNS.filter((c) => !columns.includes(c));
  const missingLock = ['name', 'owner', 'expires_at'].filter((c) => !lockColumns.includes(c));
  if (missing.length > 0 || missingLock.length > 0)
    return check(
      'schema',
      'fail',
      `${what}: table ${table} lacks ${[...missing, ...missingLock.map((c) => `${table}_lock.${c}`)].join(', ')}`,
      'open the store once with write access (it adds its columns and tables), or restore the table',
    );
  const official = columns.slice(0, OFFICIAL_COLUMNS.length);
  if (OFFICIAL_COLUMNS.some((c, i) => official[i] !== c))
    return check(
      'schema',
      'warn',
      `${what}: table ${table} has every column, but not in the official SDKs' order (${OFFICIAL_COLUMNS.join(', ')})`,
      'the official SDKs read rows by position: recreate the table in that order if they share it',
    );
  return check(
    'schema',
    'ok',
    `${what}: table ${table} (${columns.length} columns, the official SDKs' ${OFFICIAL_COLUMNS.length} first, in their order) and ${table}_lock`,
  );
}

/** The modes of a local store's files, as found before opening it (the store tightens them to 0600). */
export interface FileModes {
  directory: string;
  directoryMode: number | undefined;
  files: { path: string; before: number }[];
}

export async function readFileModes(paths: readonly string[]): Promise<FileModes> {
  const modeOf = async (path: string): Promise<number | undefined> => {
    try {
      return (await stat(path)).mode & 0o7777;
    } catch {
      return undefined;
    }
  };
  const files: FileModes['files'] = [];
  for (const path of paths) {
    const before = await modeOf(path);
    if (before !== undefined) files.push({ path, before });
  }
  const directory = dirname(paths[0]!);
  return { directory, directoryMode: await modeOf(directory), files };
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;

/**
 * Token files readable by the group or others fail while they still are; a file that was and that
 * opening the store made 0600 is a warning (it was exposed until now). A directory others may write
 * to (without the sticky bit) lets them replace the files.
 */
export async function fileModeCheck(modes: FileModes): Promise<CheckResult> {
  const exposed: string[] = [];
  const tightened: string[] = [];
  for (const { path, before } of modes.files) {
    if ((before & 0o077) === 0) continue;
    const now = (await readFileModes([path])).files[0]?.before;
    if (now !== undefined && (now & 0o077) !== 0) exposed.push(`${printable(path)} (${octal(now)})`);
    else tightened.push(`${printable(path)} (was ${octal(before)}, now ${octal(now ?? 0o600)})`);
  }
  const dirMode = modes.directoryMode;
  const openDir = dirMode !== undefined && (dirMode & 0o002) !== 0 && (dirMode & 0o1000) === 0;
  const dirNote = openDir
    ? `; directory ${printable(modes.directory)} is writable by others (${octal(dirMode)}): they can replace the files`
    : '';
  if (exposed.length > 0)
    return check(
      'file-modes',
      'fail',
      `readable by others: ${exposed.join(', ')}${dirNote}`,
      'run chmod 600 on these files as their owner',
    );
  if (tightened.length > 0 || openDir)
    return check(
      'file-modes',
      'warn',
      tightened.length > 0
        ? `were readable by others until this run made them private: ${tightened.join(', ')}${dirNote}`
        : dirNote.slice(2),
      openDir
        ? `run chmod o-w (or chmod 700) on ${printable(modes.directory)}`
        : 'find who copied or created them with a loose mode (an official SDK writes 0644, cp keeps modes)',
    );
  const list = modes.files.map((f) => `${printable(f.path)} ${octal(f.before)}`).join(', ');
  return check('file-modes', 'ok', `${list || 'no files'}; directory ${octal(dirMode ?? 0)}`);
}

const KEY_ID = /^zts\d{1,3}:([^:]*):/;

/**
 * Encryption: configured, every row decryptable with the configured keys, and how many rows still
 * hold a value under an older key or in plaintext (rotate-key rewrites them).
 */
export async function encryptionCheck(
  store: EncryptedStore | undefined,
  raw: readonly OAuthToken[],
): Promise<CheckResult> {
  const values = (t: OAuthToken): string[] =>
    SECRET_FIELDS.map((f) => t[f]).filter((v): v is string => typeof v === 'string' && v !== '');
  if (store === undefined) {
    const encrypted = raw.filter((t) => values(t).some(isEncryptedValue));
    if (encrypted.length > 0)
      return check(
        'encryption',
        'fail',
        `${plural(encrypted.length, 'token')} stored encrypted (${ids(encrypted)}) but ${DEFAULT_KEYS_ENV} is not set`,
        `set ${DEFAULT_KEYS_ENV} to the keys the services use`,
      );
    return check(
      'encryption',
      'warn',
      `not configured: ${plural(raw.length, 'token')} stored in plaintext`,
      `set ${DEFAULT_KEYS_ENV} (and in every service), then run zoho-tokens rotate-key; see docs/encryption.md`,
    );
  }
  const oldKey: OAuthToken[] = [];
  const plaintext: OAuthToken[] = [];
  const undecryptable: OAuthToken[] = [];
  for (const token of raw) {
    const found = values(token);
    if (found.some((v) => !isEncryptedValue(v))) plaintext.push(token);
    if (found.some((v) => isEncryptedValue(v) && KEY_ID.exec(v)?.[1] !== store.currentKeyId)) oldKey.push(token);
    try {
      await store.findTokenById(token.id!);
    } catch (error) {
      if (!isZohoTokenError(error, 'DECRYPTION_FAILED')) throw error;
      undecryptable.push(token);
    }
  }
  const counts = `${plural(raw.length, 'token')}: ${oldKey.length} on an older key, ${plaintext.length} with plaintext values, ${undecryptable.length} undecryptable`;
  if (undecryptable.length > 0)
    return check(
      'encryption',
      'fail',
      `current key ${store.currentKeyId}; ${counts} (${ids(undecryptable)})`,
      `add the missing key to ${DEFAULT_KEYS_ENV}, or delete these tokens and log their users in again`,
    );
  if (oldKey.length > 0 || plaintext.length > 0)
    return check(
      'encryption',
      'warn',
      `current key ${store.currentKeyId}; ${counts} (${ids([...new Set([...oldKey, ...plaintext])])})`,
      'run zoho-tokens rotate-key; then the older keys can be removed',
    );
  return check('encryption', 'ok', `current key ${store.currentKeyId}; ${counts}`);
}

/**
 * Every row's accounts server and API domain must be one the library would send its secrets to
 * (TrustedEndpoints, as ZohoAuth builds it for this command line's --dc), and the row bound to a
 * data center (isBound): an unbound row is refreshed at a guess.
 */
export function trustCheck(raw: readonly OAuthToken[], configured: Environment): CheckResult {
  const trusted = new TrustedEndpoints([configured]);
  const untrusted: { token: OAuthToken; origin: string }[] = [];
  const unbound: OAuthToken[] = [];
  for (const token of raw) {
    const known = { primary: environmentOfToken(token, () => configured), extra: [] };
    const accountsUrl = accountsUrlOf(known, token);
    const bad = [accountsUrl, token.apiDomain].find((url) => url && !trusted.trusts(url));
    if (bad) untrusted.push({ token, origin: describeOrigin(bad) });
    else if (!isBound(known, token)) unbound.push(token);
  }
  if (untrusted.length > 0)
    return check(
      'endpoints',
      'fail',
      `${plural(untrusted.length, 'token')} ${untrusted.length === 1 ? 'names' : 'name'} a server the trust rules refuse: ${untrusted
        .slice(0, 5)
        .map((u) => `token ${printable(u.token.id ?? '?')} (${u.origin})`)
        .join(', ')}${untrusted.length > 5 ? ` and ${untrusted.length - 5} more` : ''}`,
      'a stored accounts_url/api_domain is never trusted on its own: delete these rows, or pass --dc custom:<url> if that server is yours',
    );
  if (unbound.length > 0)
    return check(
      'endpoints',
      'warn',
      `${plural(unbound.length, 'token')} bound to no data center (${ids(unbound)}): refreshed at the configured one (${configured.name})`,
      'zoho-tokens bind <id> --dc <dc>',
    );
  return check('endpoints', 'ok', `${plural(raw.length, 'token')}, each bound to a trusted accounts server`);
}

/** The accounts servers to measure the clock against: --dc's, else those of the rows the trust rules accept. */
export function clockOrigins(raw: readonly OAuthToken[], configured: Environment, dcGiven: boolean): string[] {
  if (dcGiven) return [originOf(configured.accountsUrl)!];
  const trusted = new TrustedEndpoints([configured]);
  const origins = new Set<string>();
  for (const token of raw) {
    const url = accountsUrlOf({ primary: environmentOfToken(token, () => configured), extra: [] }, token);
    if (trusted.trusts(url)) origins.add(originOf(url)!);
  }
  return [...origins];
}

/**
 * This host's clock against each accounts server's `Date` header (ServerClock, as ZohoAuth measures
 * it): an offset beyond the refresh margin makes a host that does not correct for it use tokens the
 * server has expired; a fifth of it is a warning.
 */
export async function clockCheck(
  origins: readonly string[],
  fetchImpl: typeof fetch,
  timeoutMs: number,
): Promise<CheckResult> {
  if (origins.length === 0)
    return check('clock', 'skip', 'no accounts server to ask (no token names a trusted one)', 'pass --dc <dc>');
  const results: { origin: string; offsetMs: number | undefined }[] = [];
  for (const origin of origins) {
    const clock = new ServerClock({ now: Date.now }, silentLogger);
    await clock.sync(origin, fetchImpl, timeoutMs);
    results.push({ origin, offsetMs: clock.state.samples > 0 ? clock.state.offsetMs : undefined });
  }
  const unreachable = results.filter((r) => r.offsetMs === undefined);
  const worst = Math.max(0, ...results.map((r) => Math.abs(r.offsetMs ?? 0)));
  const detail = `${results
    .map((r) =>
      r.offsetMs === undefined ? `${r.origin}: no answer with a Date header` : `${r.origin}: offset ${r.offsetMs} ms`,
    )
    .join(', ')}; refresh margin ${EXPIRING_MS} ms`;
  if (worst >= EXPIRING_MS)
    return check(
      'clock',
      'fail',
      detail,
      `this host's clock is ${humanizeDuration(worst)} off the accounts server's: fix its time sync (NTP); ZohoAuth corrects for it unless clockSync is 'off'`,
    );
  if (worst >= EXPIRING_MS / 5 || unreachable.length > 0)
    return check(
      'clock',
      'warn',
      detail,
      unreachable.length > 0 ? 'check the network path to the accounts server' : "check this host's time sync (NTP)",
    );
  return check('clock', 'ok', detail);
}

/** How many tokens are valid, near their refresh, expired (refreshed on next use) or dead (login required). */
export function tokensCheck(
  raw: readonly OAuthToken[],
  now: number,
): { result: CheckResult; counts: Record<string, number> } {
  const counts = { total: raw.length, valid: 0, expiring: 0, expired: 0, dead: 0 };
  for (const token of raw) {
    const status = tokenStatus(token, now);
    if (status === 'valid') counts.valid++;
    else if (status === 'expiring') counts.expiring++;
    else if (status === 'login required') counts.dead++;
    else counts.expired++;
  }
  const detail = `${counts.total} total: ${counts.valid} valid, ${counts.expiring} within the refresh margin, ${counts.expired} expired (refreshed on next use), ${counts.dead} dead`;
  const result =
    counts.dead > 0
      ? check(
          'tokens',
          'warn',
          detail,
          'dead tokens need a new login: log their users in again, or zoho-tokens purge --dead',
        )
      : check('tokens', 'ok', detail);
  return { result, counts };
}

/**
 * Lock rows past their lease: the next taker of that name replaces them, so they block nothing, but
 * one means a process died (or hung) holding it. The forced-refresh markers are left to expire by
 * design, so they are counted apart.
 */
export function lockCheck(inspection: LockInspection): CheckResult {
  const markers = inspection.expiredLocks.filter((l) => l.name.startsWith('forced:'));
  const stale = inspection.expiredLocks.filter((l) => !l.name.startsWith('forced:'));
  const detail = `${plural(inspection.locks, 'lock row')}, ${stale.length} past its lease${
    markers.length > 0 ? ` (and ${markers.length} expired forced-refresh markers, left to expire by design)` : ''
  }`;
  if (stale.length > 0)
    return check(
      'locks',
      'warn',
      `${detail}: ${stale
        .slice(0, 5)
        .map((l) =>
          l.expiredForMs === null
            ? `${printable(l.name)} (no lease: held until deleted)`
            : `${printable(l.name)} (expired ${humanizeDuration(l.expiredForMs)} ago)`,
        )
        .join(', ')}`,
      'a process died or hung holding it; the next taker replaces it. Look for crashed workers',
    );
  return check('locks', 'ok', detail);
}
