import type { ZohoTokenError } from '../errors.js';
import type { OAuthToken } from '../token/oauth-token.js';

/** Why a token was written to the store. */
export type SaveReason = 'exchange' | 'refresh' | 'import';

/** The event of {@link ZohoAuthHooks.onTokenSaved}. */
export interface TokenSavedEvent {
  /** A copy of the token as saved (secrets included, for mirroring; its `toJSON`/`inspect` redact them). */
  readonly token: OAuthToken;
  /** What caused the save. */
  readonly reason: SaveReason;
}

/** The event of {@link ZohoAuthHooks.onTokenRefreshed}. */
export interface TokenRefreshedEvent {
  /** A copy of the refreshed token as saved. */
  readonly token: OAuthToken;
  /** Expiry of the access token that was replaced, epoch ms, or null. */
  readonly previousExpiresAt: number | null;
  /** Time the call to Zoho took, in ms of the injected clock. */
  readonly durationMs: number;
}

/** The event of {@link ZohoAuthHooks.onTokenRevoked}. */
export interface TokenRevokedEvent {
  /** The token as it was stored before it was deleted. */
  readonly token: OAuthToken;
  /** False when Zoho already did not know the refresh token, or there was none to revoke. */
  readonly revokedAtZoho: boolean;
}

/** The event of {@link ZohoAuthHooks.onTokenDead}. */
export interface TokenDeadEvent {
  /** The token as it was before its refresh and access tokens were cleared. */
  readonly token: OAuthToken;
  /** Zoho's answer (`INVALID_GRANT`): the refresh token was revoked or deleted. */
  readonly error: ZohoTokenError;
}

/**
 * Lifecycle hooks. Each is awaited before the operation that triggered it resolves (refresh hooks
 * run after the cross-process lock is released, so a slow hook never blocks other processes).
 * A hook that throws or rejects is logged at `error` and otherwise ignored: the token operation
 * already succeeded and its result is returned.
 */
export interface ZohoAuthHooks {
  /** After every save: a code exchange, a refresh, or an imported refresh token. */
  onTokenSaved?: (event: TokenSavedEvent) => void | Promise<void>;
  /** After a refresh was saved (in addition to `onTokenSaved`). */
  onTokenRefreshed?: (event: TokenRefreshedEvent) => void | Promise<void>;
  /** After `revoke` / `logout` / `logoutAll` removed a token. */
  onTokenRevoked?: (event: TokenRevokedEvent) => void | Promise<void>;
  /** When Zoho rejected a refresh token (`invalid_code`): the user must log in again. */
  onTokenDead?: (event: TokenDeadEvent) => void | Promise<void>;
}

export const HOOK_NAMES = ['onTokenSaved', 'onTokenRefreshed', 'onTokenRevoked', 'onTokenDead'] as const;

export type HookName = (typeof HOOK_NAMES)[number];
/** Hooks queued while a lock is held, to run once it is released. */
export type AfterHooks = (() => Promise<void>)[];

/**
 * Runs `work` with an empty queue of after-hooks, then every hook it queued, in order, whether
 * `work` succeeded or failed (a lock taken inside `work` is released by then).
 */
export async function withAfterHooks<T>(work: (after: AfterHooks) => Promise<T>): Promise<T> {
  const after: AfterHooks = [];
  try {
    return await work(after);
  } finally {
    for (const hook of after) await hook();
  }
}
