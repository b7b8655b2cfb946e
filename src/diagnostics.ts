import { channel } from 'node:diagnostics_channel';

/**
 * What the library publishes on `node:diagnostics_channel`, for metrics and tracing without a
 * dependency: subscribe with `diagnostics_channel.subscribe(CHANNELS.refreshEnd, (message) => …)`.
 * A message never holds a secret: token ids, users, durations and error codes only. With no
 * subscriber, publishing costs one property read.
 */
export const CHANNELS = Object.freeze({
  /** {@link CacheMessage}: `getAccessToken` and friends served from memory, or not. */
  cache: 'zoho-token-store:cache',
  /** {@link RefreshStartMessage}: a refresh is about to call the accounts server (under the lock). */
  refreshStart: 'zoho-token-store:refresh:start',
  /** {@link RefreshEndMessage}: the refreshed token was saved. */
  refreshEnd: 'zoho-token-store:refresh:end',
  /** {@link RefreshErrorMessage}: the refresh failed; `cooldownMs` says for how long the token now waits. */
  refreshError: 'zoho-token-store:refresh:error',
  /** {@link LockWaitMessage}: a store lock was acquired, timed out or aborted, and how long it took. */
  lockWait: 'zoho-token-store:lock:wait',
});

/** A name of {@link CHANNELS}. */
export type ChannelName = keyof typeof CHANNELS;

/** On {@link CHANNELS.cache}. */
export interface CacheMessage {
  /** True when served from memory without touching the store. */
  readonly hit: boolean;
}

/** On {@link CHANNELS.refreshStart}. */
export interface RefreshStartMessage {
  readonly tokenId: string;
  /** `expiry`, `rejected` (a 401 from the API) or `operator` (`refresh()`). */
  readonly reason: string;
}

/** On {@link CHANNELS.refreshEnd}. */
export interface RefreshEndMessage {
  readonly tokenId: string;
  readonly reason: string;
  /** Time of the call to the accounts server and the save, in ms. */
  readonly durationMs: number;
}

/** On {@link CHANNELS.refreshError}. */
export interface RefreshErrorMessage {
  readonly tokenId: string;
  readonly reason: string;
  readonly durationMs: number;
  /** The error's `code` (`THROTTLED`, `NETWORK`, `INVALID_GRANT`, …), or `UNKNOWN`. */
  readonly code: string;
  /** The cool-down the failure started, in ms (0 when none, e.g. a dead refresh token). */
  readonly cooldownMs: number;
}

/** On {@link CHANNELS.lockWait}. */
export interface LockWaitMessage {
  /** The lock's name (`refresh:<id>`, `exchange:<hash>`): never a secret. */
  readonly lock: string;
  readonly outcome: 'acquired' | 'timeout' | 'aborted';
  /** Time spent waiting, in ms. */
  readonly waitedMs: number;
}

/** The channels as objects; `hasSubscribers` is checked before a message is built. */
export const diagnostics = {
  cache: channel(CHANNELS.cache),
  refreshStart: channel(CHANNELS.refreshStart),
  refreshEnd: channel(CHANNELS.refreshEnd),
  refreshError: channel(CHANNELS.refreshError),
  lockWait: channel(CHANNELS.lockWait),
} as const;

/** Cache messages are two constant objects: a hit allocates nothing. */
export const CACHE_HIT: CacheMessage = Object.freeze({ hit: true });
export const CACHE_MISS: CacheMessage = Object.freeze({ hit: false });
