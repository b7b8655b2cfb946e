/**
 * THE matching rules: how a token finds its stored row, when a save updates and when it inserts,
 * what `undefined` and `null` mean, and how ids are made. Every store uses this module and none
 * re-implements any of it: a store only fetches candidate rows (`lookupValues`) and writes the
 * plan this module returns. Documented in docs/token-store-contract.md.
 *
 * Keys of a token, in precedence order (the official SDKs' order, with their defects fixed):
 *  1. `id` — when given it is authoritative: a find by id finds that row or nothing;
 *  2. user — (user name, client id); without a client id it matches the user's only row, and a
 *     user with rows for several clients is ambiguous (TOKEN_AMBIGUOUS) rather than a guess;
 *  3. access token — only when the token has neither client id nor client secret;
 *  4. grant token — when a client id is present;
 *  5. refresh token — when a client id is present.
 * A find returns the row of the first key that hits one. A token with no key finds nothing: never
 * "the first row". A save updates the one row its keys hit, inserts when they hit none, and refuses
 * (TOKEN_CONFLICT) when they hit different rows, so no two rows ever share an id, a grant token, a
 * refresh token or a (client id, user name).
 */
import { ErrorCode, ZohoTokenError } from '../../errors.js';
import { MAX_ID_LENGTH, OAuthToken } from '../../token/oauth-token.js';
import type { TokenRecord } from '../../token/token-record.js';
import { isWellFormed } from '../../token/well-formed.js';

/** What a {@link MatchKey} compares: the id, the user (name and client id), or one token value. */
export type MatchField = 'id' | 'user' | 'accessToken' | 'grantToken' | 'refreshToken';

/** One key of a token (see {@link matchKeys}): a stored row matches it when that field is equal. */
export interface MatchKey {
  /** The field compared. */
  readonly field: MatchField;
  /** The token's value of that field (for `user`, the user name). */
  readonly value: string;
  /** For `user`: the client id the row must have; null means any client (ambiguous if several). */
  readonly clientId?: string | null;
}

/**
 * The values a backend must look up to fetch every candidate row: all rows with
 * `id = id OR user_name = userName OR access_token = accessToken OR grant_token = grantToken OR
 * refresh_token = refreshToken` (null: skip that column). Fetching a superset is fine: the rules
 * re-check every candidate exactly, so case-insensitive collations cannot cause a false match.
 */
export interface LookupValues {
  /** Rows with this id. */
  id: string | null;
  /** Rows of this user name, whatever their client id. */
  userName: string | null;
  /** Rows with this access token. */
  accessToken: string | null;
  /** Rows with this grant token. */
  grantToken: string | null;
  /** Rows with this refresh token. */
  refreshToken: string | null;
}

/** What a save writes: an insert, or an update of the stored row `previous`. */
export type SavePlan =
  | {
      /** Insert a new row. */
      readonly kind: 'insert';
      /** The row to insert. */
      readonly record: TokenRecord;
      /** The token carried no id: the store assigns `record.id` with {@link nextId}, under its lock. */
      readonly needsId: boolean;
    }
  | {
      /** Update a stored row. */
      readonly kind: 'update';
      /** The row as it is to be stored (same id as `previous`). */
      readonly record: TokenRecord;
      /** The row as it is stored now. */
      readonly previous: TokenRecord;
    };

/** The token's keys in precedence order. */
export function matchKeys(token: OAuthToken): MatchKey[] {
  const keys: MatchKey[] = [];
  if (token.id) keys.push({ field: 'id', value: token.id });
  const userName = token.userSignature?.name;
  if (userName) keys.push({ field: 'user', value: userName, clientId: token.clientId ?? null });
  if (token.accessToken && !token.clientId && !token.clientSecret) {
    keys.push({ field: 'accessToken', value: token.accessToken });
  }
  if (token.clientId) {
    if (token.grantToken) keys.push({ field: 'grantToken', value: token.grantToken });
    if (token.refreshToken) keys.push({ field: 'refreshToken', value: token.refreshToken });
  }
  return keys;
}

export function lookupValues(keys: readonly MatchKey[]): LookupValues {
  const values: LookupValues = { id: null, userName: null, accessToken: null, grantToken: null, refreshToken: null };
  for (const key of keys) {
    if (key.field === 'user') values.userName = key.value;
    else values[key.field] = key.value;
  }
  return values;
}

/** Exact, case-sensitive comparison of one key with one stored row. */
export function keyMatches(key: MatchKey, record: TokenRecord): boolean {
  switch (key.field) {
    case 'id':
      return record.id === key.value;
    case 'user':
      return record.userName === key.value && (key.clientId == null || record.clientId === key.clientId);
    case 'accessToken':
      return record.accessToken === key.value;
    case 'grantToken':
      return record.grantToken === key.value;
    case 'refreshToken':
      return record.refreshToken === key.value;
  }
}

function hitsOf(key: MatchKey, candidates: readonly TokenRecord[]): TokenRecord | null {
  let found: TokenRecord | null = null;
  for (const record of candidates) {
    if (!keyMatches(key, record) || found?.id === record.id) continue;
    if (found !== null) {
      // Only a user key without a client id can hit two rows; unique keys cannot.
      throw new ZohoTokenError(
        ErrorCode.TOKEN_AMBIGUOUS,
        key.field === 'user'
          ? 'The user has tokens for several clients; give the client id to choose one'
          : `Several stored tokens share one ${key.field}: the store breaks the no-duplicates rule`,
      );
    }
    found = record;
  }
  return found;
}

/** The row a find returns: the first key (by precedence) that hits; an id key is final. */
export function resolveFind(keys: readonly MatchKey[], candidates: readonly TokenRecord[]): TokenRecord | null {
  for (const key of keys) {
    const hit = hitsOf(key, candidates);
    if (hit !== null || key.field === 'id') return hit;
  }
  return null;
}

/**
 * What a save does, as steps: each `yield` hands the backend the values to fetch candidate rows
 * for, inside the backend's transaction or lock; the return value is the plan to write. Refusals
 * (TOKEN_UNMATCHABLE, TOKEN_CONFLICT, TOKEN_AMBIGUOUS, TOKEN_INCOMPLETE) throw before anything is
 * written. Drive it with `planSave` (synchronous backends) or `planSaveAsync`.
 */
function* saveSteps(token: OAuthToken): Generator<LookupValues, SavePlan, readonly TokenRecord[]> {
  const keys = matchKeys(token);
  if (keys.length === 0) {
    throw new ZohoTokenError(
      ErrorCode.TOKEN_UNMATCHABLE,
      'The token has no id, user name, grant or refresh token (with client id), or access token (without client credentials): it could never be found again',
    );
  }
  const candidates = yield lookupValues(keys);
  let target: TokenRecord | null = null;
  let targetKey: MatchField | null = null;
  for (const key of keys) {
    // Once a target row is known, the user key's uniqueness is checked on the merged row instead.
    if (key.field === 'user' && target !== null) continue;
    const hit = hitsOf(key, candidates);
    // An id that hits no row is the caller's choice for a new row: only canonical ids are made.
    if (key.field === 'id' && hit === null) assertChosenId(key.value);
    if (key.field === 'id' || (hit !== null && targetKey === null)) {
      target = hit;
      targetKey = key.field;
    } else if (hit !== null && hit.id !== target?.id) {
      throw new ZohoTokenError(
        ErrorCode.TOKEN_CONFLICT,
        `The token's ${targetKey} ${target ? `is stored as id ${JSON.stringify(target.id)}` : 'is not stored'} but its ${key.field} belongs to stored token id ${JSON.stringify(hit.id)}`,
      );
    }
  }
  const record = mergeRecord(target, token);
  if (target === null && !record.grantToken && !record.refreshToken && !record.accessToken) {
    throw new ZohoTokenError(ErrorCode.TOKEN_INCOMPLETE, 'A new token needs a grant, refresh or access token');
  }
  assertValidRecord(record);
  assertUnique(record, candidates);
  if (
    target !== null &&
    token.userSignature === undefined &&
    record.userName !== null &&
    record.clientId !== target.clientId
  ) {
    // A new client id for the stored user: the rows of that user were not among the candidates.
    assertUnique(record, yield { ...NO_VALUES, userName: record.userName });
  }
  return target === null
    ? { kind: 'insert', record, needsId: !token.id }
    : { kind: 'update', record, previous: target };
}

const NO_VALUES: LookupValues = { id: null, userName: null, accessToken: null, grantToken: null, refreshToken: null };

/** Plans a save for a synchronous backend; `fetch` returns every row matching any given value. */
export function planSave(token: OAuthToken, fetch: (values: LookupValues) => readonly TokenRecord[]): SavePlan {
  const steps = saveSteps(token);
  for (let step = steps.next(); ;) {
    if (step.done) return step.value;
    step = steps.next(fetch(step.value));
  }
}

/** Plans a save for an asynchronous backend; call it inside the backend's transaction or lock. */
export async function planSaveAsync(
  token: OAuthToken,
  fetch: (values: LookupValues) => Promise<readonly TokenRecord[]>,
): Promise<SavePlan> {
  const steps = saveSteps(token);
  for (let step = steps.next(); ;) {
    if (step.done) return step.value;
    step = steps.next(await fetch(step.value));
  }
}

/** The stored row a token refers to, or null; `fetch` returns every row matching any given value. */
export async function findMatch(
  token: OAuthToken,
  fetch: (values: LookupValues) => readonly TokenRecord[] | Promise<readonly TokenRecord[]>,
): Promise<TokenRecord | null> {
  const keys = matchKeys(token);
  return keys.length === 0 ? null : resolveFind(keys, await fetch(lookupValues(keys)));
}

/**
 * The row as it would be stored must itself be a valid token (clearing the client secret of a
 * token that keeps its refresh token is not): a row no store could ever read back is refused.
 */
function assertValidRecord(record: TokenRecord): void {
  try {
    new OAuthToken({
      ...record,
      id: record.id || null,
      userSignature: record.userName,
      accountsUrl: record.accountsUrl,
    });
  } catch (error) {
    const field = (error as { field?: string }).field;
    throw new ZohoTokenError(
      ErrorCode.INVALID_TOKEN,
      `After this save the stored token would be invalid${field ? ` (${field})` : ''}: ${(error as Error).message}`,
      field === undefined ? {} : { field },
    );
  }
}

/** A merged row may pair a stored user with a new client id; the pair must stay unique too. */
function assertUnique(record: TokenRecord, candidates: readonly TokenRecord[]): void {
  if (record.userName === null) return;
  const clash = candidates.find(
    (other) => other.id !== record.id && other.userName === record.userName && other.clientId === record.clientId,
  );
  if (clash) {
    throw new ZohoTokenError(
      ErrorCode.TOKEN_CONFLICT,
      `Stored token id ${JSON.stringify(clash.id)} already holds this user for this client`,
    );
  }
}

/** `undefined` keeps the stored value, `null` clears it, anything else replaces it. */
export function mergeRecord(stored: TokenRecord | null, token: OAuthToken): TokenRecord {
  const pick = <T>(value: T | null | undefined, kept: T | null | undefined): T | null =>
    value === undefined ? (kept ?? null) : value;
  return {
    id: stored?.id ?? token.id ?? '',
    userName: token.userSignature === undefined ? (stored?.userName ?? null) : (token.userSignature?.name ?? null),
    clientId: pick(token.clientId, stored?.clientId),
    clientSecret: pick(token.clientSecret, stored?.clientSecret),
    refreshToken: pick(token.refreshToken, stored?.refreshToken),
    accessToken: pick(token.accessToken, stored?.accessToken),
    grantToken: pick(token.grantToken, stored?.grantToken),
    expiresAt: pick(token.expiresAt, stored?.expiresAt),
    redirectUrl: pick(token.redirectUrl, stored?.redirectUrl),
    apiDomain: pick(token.apiDomain, stored?.apiDomain),
    accountsUrl: pick(token.accountsUrl, stored?.accountsUrl),
  };
}

const MAX_ID = 10 ** MAX_ID_LENGTH - 1;

/**
 * The largest id a caller may choose for a new row. Above it only the store numbers, so one odd
 * chosen id (`"9999999999"`) can never use up the id space: nine billion ids stay above any
 * chosen one. The official SDKs number from 1 upwards and never come near it.
 */
export const MAX_CHOSEN_ID = 999_999_999;

/** A canonical id: a positive decimal integer, no sign, no leading zero, no spaces, at most 10 digits. */
export function isCanonicalId(id: string): boolean {
  return /^[1-9][0-9]{0,9}$/.test(id);
}

/**
 * A new row under a caller-chosen id: the id must be canonical and at most MAX_CHOSEN_ID. Exact
 * matching alone is not enough: MySQL's PAD SPACE collations make `"1 "` collide with `"1"`, and
 * `" 9999999"` counts as a number in some SQL dialects and not in others.
 */
function assertChosenId(id: string): void {
  if (!isCanonicalId(id)) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_TOKEN,
      'OAuthToken.id of a new token must be a positive decimal number without sign, leading zero or spaces',
      { field: 'id' },
    );
  }
  if (Number(id) > MAX_CHOSEN_ID) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_TOKEN,
      `OAuthToken.id of a new token may be at most ${MAX_CHOSEN_ID}: larger ids are left to the store's numbering`,
      { field: 'id' },
    );
  }
}

/**
 * THE numbering rule, the same in every store: the id after the numerically largest id ever held
 * (deleted rows included; an id counts when it is 1 to 10 plain digits, see `numericId`). Backends
 * call it inside the same transaction (or lock, or atomic counter) as the insert, so concurrent
 * processes never hand out one id twice.
 */
export function nextId(largestNumericId: number | bigint | string | null | undefined): string {
  const largest = largestNumericId == null || largestNumericId === '' ? 0 : Number(largestNumericId);
  if (!Number.isSafeInteger(largest) || largest < 0) {
    throw new ZohoTokenError(ErrorCode.STORE_ERROR, 'The largest stored id is not a number');
  }
  if (largest >= MAX_ID) {
    throw new ZohoTokenError(ErrorCode.ID_SPACE_EXHAUSTED, `Ids are limited to ${MAX_ID_LENGTH} digits`);
  }
  return String(largest + 1);
}

/**
 * The numeric value of an id for `nextId`, or null for ids that do not count. Plain digits count
 * (a zero-led `"01"` of an older table as 1); anything else (`" 9"`, `"+9"`, `"9e3"`) does not.
 * SQL stores evaluate the same pattern in SQL: keep `NUMERIC_ID_PATTERN` and them in step.
 */
export function numericId(id: string): number | null {
  return NUMERIC_ID_PATTERN.test(id) ? Number(id) : null;
}

/** The ids `numericId` counts, as a regular expression SQL dialects understand too. */
export const NUMERIC_ID_PATTERN = /^[0-9]{1,10}$/;

/**
 * Checks a store method's input and returns a validated snapshot: later mutation of the caller's
 * object cannot change what is written, and a mutated field of the wrong type is refused here.
 */
export function snapshotToken(token: unknown, method: string): OAuthToken {
  if (!(token instanceof OAuthToken)) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `${method} expects an OAuthToken`, { field: 'token' });
  }
  return new OAuthToken(token.toInit());
}

/**
 * Checks an id argument; returns null for ids that cannot be stored (empty, too long, or with a
 * lone surrogate), which find nothing and delete nothing. Other ids are matched exactly: no store
 * makes a non-canonical id any more, but a row an older version stored under one stays reachable.
 */
export function checkId(id: unknown, method: string): string | null {
  if (typeof id !== 'string') {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `${method} expects the id as a string`, { field: 'id' });
  }
  return id.length === 0 || id.length > MAX_ID_LENGTH || !isWellFormed(id) ? null : id;
}
