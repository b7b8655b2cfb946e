import { ErrorCode, ZohoTokenError } from '../../errors.js';
import type { OAuthToken } from '../../token/oauth-token.js';

/**
 * The six-method token store contract of the official Zoho SDKs, made precise. Every method is
 * async. The matching rules (which stored token a token refers to) live in `matching.ts` and are
 * the same for every store; docs/token-store-contract.md states them in full.
 *
 * - `findToken(token)`: the stored token the given one refers to, as a new OAuthToken, or `null`.
 *   A token with no usable key finds nothing.
 * - `saveToken(token)`: upsert. Updates the stored token the given one refers to, or inserts a new
 *   one with a fresh id (a numeric string of at most 10 characters). Sets `token.id` to the row's
 *   id. A field left `undefined` keeps the stored value; a field set to `null` clears it. Refuses
 *   with a typed error, writing nothing, when the token would duplicate another stored token.
 * - `deleteToken(id)`: removes that token; an unknown id is a no-op.
 * - `getTokens()`: every stored token.
 * - `deleteTokens()`: removes every token.
 * - `findTokenById(id)`: the token with that id, or `null`.
 * - `close()`: waits for the calls in progress, then releases what the store opened (never a
 *   client the caller passed in); idempotent. Any other call after it fails with STORE_CLOSED.
 * - `ready()` (optional): connects and prepares the schema now; idempotent.
 *
 * Returned tokens are copies: changing them changes nothing stored until they are saved.
 */
export interface TokenStore {
  findToken(token: OAuthToken): Promise<OAuthToken | null>;
  saveToken(token: OAuthToken): Promise<void>;
  deleteToken(id: string): Promise<void>;
  getTokens(): Promise<OAuthToken[]>;
  deleteTokens(): Promise<void>;
  findTokenById(id: string): Promise<OAuthToken | null>;
  close(): Promise<void>;
  /**
   * Optional: connects and prepares the schema now, so that a misconfiguration shows at start-up
   * rather than on the first token; every other method does it on first use. Idempotent.
   */
  ready?(): Promise<void>;
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

export interface LockOptions {
  /** How long the lock holds if its holder never releases it (crash). */
  leaseMs: number;
  /** How long to wait for a lock held by someone else. */
  waitMs: number;
}

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
