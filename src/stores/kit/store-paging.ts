/**
 * The optional paging capability of the contract (`iterateTokens`, `saveTokens`) in one place:
 * argument checks, the fallbacks for stores without it, and the batch planner that lets a server
 * store plan a whole batch against rows fetched with one query.
 */
import { ErrorCode, ZohoTokenError } from '../../errors.js';
import type { OAuthToken } from '../../token/oauth-token.js';
import type { TokenRecord } from '../../token/token-record.js';
import {
  checkId,
  lookupValues,
  matchKeys,
  nextId,
  planSaveAsync,
  snapshotToken,
  type LookupValues,
} from './matching.js';
import { RecordIndex } from './record-index.js';
import type { TokenStore } from './token-store.js';

/** Options of {@link TokenStore.iterateTokens}. */
export interface IterateTokensOptions {
  /**
   * Most tokens per page, 1 to 10,000.
   * @default 500
   */
  batchSize?: number;
}

/** Page size when none is given. */
export const DEFAULT_BATCH_SIZE = 500;
/** Largest page size: bounds the memory and the statement size of one page. */
export const MAX_BATCH_SIZE = 10_000;

/** The page size of `options`, checked: INVALID_ARGUMENT unless an integer of 1 to 10,000. */
export function checkBatchSize(options: IterateTokensOptions | undefined): number {
  const size = options?.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(size) || size < 1 || size > MAX_BATCH_SIZE) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `batchSize must be an integer of 1 to ${MAX_BATCH_SIZE}`, {
      field: 'batchSize',
    });
  }
  return size;
}

/** The order of every page: ids compared as strings, code unit by code unit (`"10"` before `"9"`). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The tokens of any store page by page: its own `iterateTokens` when it has one, else (a custom
 * store of the six methods) `getTokens()` once, sorted by id and cut into pages, which holds every
 * token in memory.
 */
export function iterateTokensOf(store: TokenStore, options?: IterateTokensOptions): AsyncIterable<OAuthToken[]> {
  if (typeof store.iterateTokens === 'function') return store.iterateTokens(options);
  const size = checkBatchSize(options);
  return (async function* () {
    const all = (await store.getTokens()).sort((a, b) => compareIds(a.id ?? '', b.id ?? ''));
    for (let i = 0; i < all.length; i += size) yield all.slice(i, i + size);
  })();
}

/**
 * Pages of a sorted id snapshot, each read when it is reached: a token deleted meanwhile is left
 * out, one added meanwhile is not listed. For stores that can list their ids cheaply.
 */
export async function* pagesOfIds(
  ids: readonly string[],
  size: number,
  read: (ids: string[]) => Promise<OAuthToken[]> | OAuthToken[],
): AsyncGenerator<OAuthToken[]> {
  for (let i = 0; i < ids.length; i += size) {
    const page = await read(ids.slice(i, i + size));
    if (page.length > 0) yield page;
  }
}

/**
 * Keyset pages: `next(after, size)` returns up to `size` tokens with ids after `after` (null: from
 * the start) in id order. Each token there for the whole iteration comes exactly once, whatever
 * is saved or deleted meanwhile.
 */
export async function* keysetPages(
  size: number,
  next: (after: string | null, size: number) => Promise<OAuthToken[]>,
): AsyncGenerator<OAuthToken[]> {
  for (let after: string | null = null; ;) {
    const page = await next(after, size);
    if (page.length > 0) yield page;
    if (page.length < size) return;
    after = page[page.length - 1]!.id!;
  }
}

/** Saves a batch with the store's `saveTokens` when it has one, else token by token. */
export async function saveTokensOf(store: TokenStore, tokens: readonly OAuthToken[]): Promise<void> {
  if (typeof store.saveTokens === 'function') return store.saveTokens(tokens);
  checkTokenList(tokens);
  for (const token of tokens) await store.saveToken(token);
}

/** `saveTokens`'s argument: an array (of OAuthTokens, which each save checks again). */
export function checkTokenList(tokens: unknown): asserts tokens is readonly OAuthToken[] {
  if (!Array.isArray(tokens)) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'saveTokens expects an array of OAuthTokens', {
      field: 'tokens',
    });
  }
}

/** `findTokensById`'s argument: an array of string ids (each then checked as `findTokenById` does). */
export function checkIdList(ids: unknown): asserts ids is readonly string[] {
  if (!Array.isArray(ids) || ids.length > MAX_BATCH_SIZE) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      `findTokensById expects an array of at most ${MAX_BATCH_SIZE} ids`,
      { field: 'ids' },
    );
  }
}

/**
 * The ids of a lookup, checked as `findTokenById` checks one (INVALID_ARGUMENT for a non-string);
 * `null` for an id that cannot be stored (found nowhere).
 */
export function checkIds(ids: unknown): (string | null)[] {
  checkIdList(ids);
  return ids.map((id) => checkId(id, 'findTokensById'));
}

/** The distinct ids among checked keys (null keys, which match nothing, left out): one query's parameters. */
export function distinctIds(keys: readonly (string | null)[]): string[] {
  return [...new Set(keys.filter((key): key is string => key !== null))];
}

/** Gives each token of a saved batch the id the store wrote it under, as `saveToken` does for one. */
export function assignIds(tokens: readonly OAuthToken[], ids: readonly string[]): void {
  ids.forEach((id, i) => (tokens[i]!.id = id));
}

/** Orders found rows as the ids asked for: exact comparison, null where none. */
export function inIdOrder<T extends { id: string }>(
  keys: readonly (string | null)[],
  rows: readonly T[],
): (T | null)[] {
  const byId = new Map(rows.map((row) => [row.id, row] as const));
  return keys.map((key) => (key === null ? null : (byId.get(key) ?? null)));
}

/** Snapshots of a batch (see `snapshotToken`): every token is checked before anything is written. */
export function snapshotBatch(tokens: unknown): OAuthToken[] {
  checkTokenList(tokens);
  return tokens.map((token) => snapshotToken(token, 'saveTokens'));
}

/**
 * The tokens of `ids` in that order (null where none): the store's `findTokensById` when it has
 * one, else `findTokenById` calls, `concurrency` at a time.
 */
export async function findTokensById(
  store: TokenStore,
  ids: readonly string[],
  concurrency = 16,
): Promise<(OAuthToken | null)[]> {
  if (typeof store.findTokensById === 'function') return store.findTokensById(ids);
  checkIdList(ids);
  const found: (OAuthToken | null)[] = new Array<OAuthToken | null>(ids.length).fill(null);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const i = next++;
      found[i] = await store.findTokenById(ids[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  return found;
}

/** One row a batch writes: its final state, and the stored row it replaces (null: an insert). */
export interface BatchWrite {
  /** The row as it is to be stored. */
  readonly record: TokenRecord;
  /** The row as it was read before the batch, or null for a new row. */
  readonly previous: TokenRecord | null;
}

/** What {@link planBatch} hands back: each token's id, and one write per row touched. */
export interface BatchPlan {
  /** The id each token of the batch was saved under, in order. */
  readonly ids: string[];
  /** One write per row, in the order rows were first touched. */
  readonly writes: BatchWrite[];
}

/**
 * Plans the saves of a batch exactly as if they were saved one after another, with the rows the
 * backend returns for all their lookup values at once (`fetch`, inside its transaction). A value
 * not fetched up front (a stored user's other rows) is fetched on its own. `largestId` is read
 * only when a token needs a new id. Refusals throw as `saveToken`'s do, before anything is written.
 */
export async function planBatch(
  snapshots: readonly OAuthToken[],
  fetch: (values: readonly LookupValues[]) => Promise<readonly TokenRecord[]>,
  largestId: () => Promise<number>,
): Promise<BatchPlan> {
  const local = new RecordIndex();
  const original = new Map<string, TokenRecord>();
  const fetched = new Set<string>();
  const keyOf = (field: string, value: string): string => `${field}\u0000${value}`;
  const remember = (values: readonly LookupValues[], rows: readonly TokenRecord[]): void => {
    for (const v of values) {
      for (const [field, value] of Object.entries(v)) if (value !== null) fetched.add(keyOf(field, value as string));
    }
    // A row the batch already changed keeps its new state.
    for (const row of rows) {
      if (original.has(row.id)) continue;
      original.set(row.id, row);
      local.set({ ...row });
    }
  };
  const initial = snapshots.map((s) => lookupValues(matchKeys(s)));
  remember(initial, await fetch(initial));
  let storeLargest: number | null = null;
  const ids: string[] = [];
  const touched = new Set<string>();
  for (const snapshot of snapshots) {
    const plan = await planSaveAsync(snapshot, async (values) => {
      const missing = Object.entries(values).some(([f, v]) => v !== null && !fetched.has(keyOf(f, v as string)));
      if (missing) remember([values], await fetch([values]));
      return local.candidates(values);
    });
    const record = { ...plan.record };
    if (plan.kind === 'insert' && plan.needsId) {
      storeLargest ??= await largestId();
      local.raiseLargestId(storeLargest);
      record.id = nextId(local.largestId);
    }
    local.set(record);
    touched.add(record.id);
    ids.push(record.id);
  }
  return {
    ids,
    writes: [...touched].map((id) => ({ record: local.get(id)!, previous: original.get(id) ?? null })),
  };
}
