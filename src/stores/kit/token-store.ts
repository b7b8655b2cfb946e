import { ErrorCode, ZohoTokenError } from '../../errors.js';
import type { OAuthToken } from '../../token/oauth-token.js';
import type { IterateTokensOptions } from './store-paging.js';

/**
 * The six-method token store contract of the official Zoho SDKs, made precise, plus `close`. Every
 * method is async. Which stored token a given token refers to (its id, then user and client, then
 * access, grant or refresh token) is decided by the matching rules, the same for every store and
 * stated in full in docs/token-store-contract.md.
 *
 * Returned tokens are copies: changing them changes nothing stored until they are saved. Errors are
 * {@link ZohoTokenError}s with a stable `code`; a backend failure is `STORE_ERROR`, a call after
 * {@link TokenStore.close | close} is `STORE_CLOSED`, and no message contains a secret.
 */
export interface TokenStore {
  /**
   * The stored token the given one refers to, as a new token, or `null` when none does. A token
   * with no usable key (say an access token with client credentials and nothing else) finds
   * nothing, never "the first row".
   *
   * @throws `ZohoTokenError`:
   * - `TOKEN_AMBIGUOUS` for a user name without a client id when that user has tokens for several
   *   clients;
   * - `INVALID_ARGUMENT` when `token` is not an {@link OAuthToken}; `INVALID_TOKEN` when one of its
   *   fields was set to an invalid value after construction (every call validates again).
   */
  findToken(token: OAuthToken): Promise<OAuthToken | null>;
  /**
   * Upsert: updates the stored token the given one refers to, or inserts it under a fresh id (one
   * more than the largest id the store ever held) or under the id it carries. Sets `token.id` to
   * the row's id. A field left `undefined` keeps the stored value; a field set to `null` (or `''`)
   * clears it.
   *
   * @throws `ZohoTokenError`, and nothing is written:
   * - `TOKEN_CONFLICT` when the token's keys hit two different stored tokens (say its user is one
   *   and its refresh token another), or it would give a user a second token for one client;
   * - `TOKEN_UNMATCHABLE` for a token with no key, `TOKEN_INCOMPLETE` for a new token without a
   *   grant, refresh or access token, `TOKEN_AMBIGUOUS` as in {@link TokenStore.findToken | findToken};
   * - `INVALID_TOKEN` when the stored token would be invalid afterwards, or (`field: 'id'`) for a
   *   new token's id that is not canonical or is above 999999999;
   * - `ID_SPACE_EXHAUSTED` when the store has used up its 10-digit ids.
   */
  saveToken(token: OAuthToken): Promise<void>;
  /** Removes the token with that id (compared exactly: `"01"` is not `"1"`); an unknown id is a no-op. */
  deleteToken(id: string): Promise<void>;
  /** Every stored token. */
  getTokens(): Promise<OAuthToken[]>;
  /** Removes every token. */
  deleteTokens(): Promise<void>;
  /** The token with that id (compared exactly: `"01"` is not `"1"`), or `null`. */
  findTokenById(id: string): Promise<OAuthToken | null>;
  /**
   * Waits for the calls in progress, then releases what the store opened, never a client or pool
   * the caller passed in. Idempotent; any other call after it fails with `STORE_CLOSED`.
   */
  close(): Promise<void>;
  /**
   * Optional: connects and prepares the schema now, so that a misconfiguration shows at start-up
   * rather than on the first token; every other method does it on first use. Idempotent.
   */
  ready?(): Promise<void>;
  /**
   * Optional capability: every token, page by page, in id order (ids compared as strings), without
   * holding them all in memory. A token stored for the whole iteration comes exactly once; one
   * saved or deleted meanwhile comes at most once. Stores without it: `iterateTokensOf` in
   * `zoho-token-store/kit` falls back to `getTokens()`.
   *
   * @throws `ZohoTokenError` `INVALID_ARGUMENT` (on the first page) for a `batchSize` that is not an
   *   integer of 1 to 10,000.
   */
  iterateTokens?(options?: IterateTokensOptions): AsyncIterable<OAuthToken[]>;
  /**
   * Optional capability: saves the tokens in order exactly as `saveToken` would one by one (so a
   * token may update a row an earlier one of the batch wrote) and sets each `token.id`, in one
   * transaction, pipeline or file write where the backend allows it. On a refusal it rejects with
   * `saveToken`'s error for the first token refused: the tokens before it are saved, it is not,
   * and the ones after it may or may not be (save them again: a save is an upsert). Stores without
   * it: `saveTokensOf` in `zoho-token-store/kit` saves token by token.
   */
  saveTokens?(tokens: readonly OAuthToken[]): Promise<void>;
  /**
   * Optional capability: the tokens with these ids, in the order given (`null` where none), with
   * one query where the backend allows it; each id compared exactly, as by `findTokenById`.
   * Stores without it: `findTokensById` in `zoho-token-store/kit` looks them up one by one.
   */
  findTokensById?(ids: readonly string[]): Promise<(OAuthToken | null)[]>;
  /** Optional capability: cross-process mutual exclusion, used to refresh a token exactly once. */
  readonly lock?: StoreLock;
}

/** Cross-process mutual exclusion with a lease, so a crashed holder cannot block others forever. */
export interface StoreLock {
  /**
   * Takes the lock `name`, waiting up to `waitMs`. Resolves to a handle, or `null` when the wait
   * ran out. The lock expires `leaseMs` after it was taken if not released.
   */
  acquire(name: string, options: LockOptions): Promise<LockHandle | null>;
}

/** The timing of one {@link StoreLock.acquire} call, both in milliseconds. */
export interface LockOptions {
  /** How long the lock holds if its holder never releases it (crash). */
  leaseMs: number;
  /** How long to wait for a lock held by someone else. */
  waitMs: number;
  /**
   * Stops the wait: `acquire` rejects with ABORTED. A lock that ignores it is still safe to use:
   * ZohoAuth stops waiting by itself and releases a lock granted after the abort.
   */
  signal?: AbortSignal | undefined;
  /**
   * Optional: asked each time a waiting `acquire` wakes (a release was heard, or a pause ran out)
   * before it tries the lock again. When it resolves true, what the lock was wanted for has been
   * done by the holder (say the token it would refresh is fresh now): `acquire` resolves to `null`
   * at once, without taking the lock. An error counts as false. A lock may ignore it.
   */
  satisfied?: (() => Promise<boolean> | boolean) | undefined;
}

/** A lock taken by {@link StoreLock.acquire}. */
export interface LockHandle {
  /** Releases the lock if this handle still owns it; never releases someone else's. */
  release(): Promise<void>;
}

/** The argument checks every lock implementation shares; `maxNameLength` is the backend's limit. */
export function checkLockArguments(name: unknown, options: LockOptions, maxNameLength = 1024): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > maxNameLength || name.includes('\u0000')) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      `A lock needs a name of 1 to ${maxNameLength} characters without NUL`,
      {
        field: 'name',
      },
    );
  }
  const { leaseMs, waitMs } = options ?? ({} as Partial<LockOptions>);
  if (!Number.isSafeInteger(leaseMs) || (leaseMs as number) <= 0) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'leaseMs must be a positive integer of milliseconds', {
      field: 'leaseMs',
    });
  }
  if (!Number.isSafeInteger(waitMs) || (waitMs as number) < 0) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'waitMs must be zero or a positive integer of milliseconds', {
      field: 'waitMs',
    });
  }
}
