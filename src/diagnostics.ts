import { channel } from 'node:diagnostics_channel';

/**
 * What the library publishes on `node:diagnostics_channel`, for metrics and tracing without a
 * dependency: subscribe with `diagnostics_channel.subscribe(CHANNELS.refreshEnd, (message) => …)`.
 * A message never holds a secret: token ids, users, durations and error codes only. With no
 * subscriber, publishing costs one property read.
 */
export const CHANNELS = Object.freeze({
  /** `CacheMessage`: `getAccessToken` and friends served from memory, or not. */
  cache: 'zoho-token-store:cache',
  /** `RefreshStartMessage`: a refresh is about to call the accounts server (under the lock). */
  refreshStart: 'zoho-token-store:refresh:start',
  /** `RefreshEndMessage`: the refreshed token was saved. */
  refreshEnd: 'zoho-token-store:refresh:end',
  /** `RefreshErrorMessage`: the refresh failed; `cooldownMs` says for how long the token now waits. */
  refreshError: 'zoho-token-store:refresh:error',
  /** `LockWaitMessage`: a store lock was acquired, timed out or aborted, and how long it took. */
  lockWait: 'zoho-token-store:lock:wait',
  /** `StoreOperationMessage`: a call of ZohoAuth's to its token store, how long it took and how it ended. */
  storeOperation: 'zoho-token-store:store:operation',
  /** `ApiThrottleMessage`: a ZohoClient call answered 429 TOO_MANY_REQUESTS: retried after a wait, or given up. */
  apiThrottle: 'zoho-token-store:api:throttle',
});

/** A name of {@link CHANNELS}. */
export type ChannelName = keyof typeof CHANNELS;

/** The message on `CHANNELS.cache`. */
export interface CacheMessage {
  /** True when served from memory without touching the store. */
  readonly hit: boolean;
}

/** The message on `CHANNELS.refreshStart`. */
export interface RefreshStartMessage {
  /** The token's id in the store. */
  readonly tokenId: string;
  /** `expiry`, `rejected` (a 401 from the API) or `operator` (`refresh()`). */
  readonly reason: string;
}

/** The message on `CHANNELS.refreshEnd`. */
export interface RefreshEndMessage {
  /** The token's id in the store. */
  readonly tokenId: string;
  /** As in `RefreshStartMessage`. */
  readonly reason: string;
  /** Time of the call to the accounts server and the save, in ms. */
  readonly durationMs: number;
}

/** The message on `CHANNELS.refreshError`. */
export interface RefreshErrorMessage {
  /** The token's id in the store. */
  readonly tokenId: string;
  /** As in `RefreshStartMessage`. */
  readonly reason: string;
  /** Time from the start of the refresh to the failure, in ms. */
  readonly durationMs: number;
  /** The error's `code` (`THROTTLED`, `NETWORK`, `INVALID_GRANT`, …), or `UNKNOWN`. */
  readonly code: string;
  /** The cool-down the failure started, in ms (0 when none, e.g. a dead refresh token). */
  readonly cooldownMs: number;
}

/** The message on `CHANNELS.lockWait`. */
export interface LockWaitMessage {
  /** The lock's name (`refresh:<id>`, `exchange:<hash>`): never a secret. */
  readonly lock: string;
  /**
   * Taken; not taken before the wait ran out; the caller's signal ended the wait; or not needed
   * any more (woken by the release, the waiter found the holder's work done: a fresh token).
   */
  readonly outcome: 'acquired' | 'timeout' | 'aborted' | 'done-elsewhere';
  /** Time spent waiting, in ms. */
  readonly waitedMs: number;
}

/** The message on `CHANNELS.storeOperation`. */
export interface StoreOperationMessage {
  /** The `TokenStore` method: `findToken`, `findTokenById`, `saveToken`, `deleteToken`, `getTokens`, `deleteTokens`. */
  readonly operation: string;
  /** Time from the call to its outcome, in ms. */
  readonly durationMs: number;
  /** null when it succeeded; else the error's `code` (`STORE_ERROR`, `STORE_CLOSED`, …) or `UNKNOWN`. */
  readonly code: string | null;
}

/** The message on `CHANNELS.apiThrottle`. */
export interface ApiThrottleMessage {
  /** The call: method and path, without the query string (e.g. `GET /crm/v8/Leads`). */
  readonly call: string;
  /** Which 429 of this call it is (1 for the first). */
  readonly attempt: number;
  /** The wait Zoho asked for (`Retry-After`), or the back-off when it named none, in ms. */
  readonly waitMs: number;
  /** `retry`: the client waits `waitMs` and sends again; `gave-up`: the call fails with RATE_LIMITED. */
  readonly outcome: 'retry' | 'gave-up';
}

/** The channels as objects; `hasSubscribers` is checked before a message is built. */
export const diagnostics = {
  cache: channel(CHANNELS.cache),
  refreshStart: channel(CHANNELS.refreshStart),
  refreshEnd: channel(CHANNELS.refreshEnd),
  refreshError: channel(CHANNELS.refreshError),
  lockWait: channel(CHANNELS.lockWait),
  storeOperation: channel(CHANNELS.storeOperation),
  apiThrottle: channel(CHANNELS.apiThrottle),
} as const;

/** Cache messages are two constant objects: a hit allocates nothing. */
export const CACHE_HIT: CacheMessage = Object.freeze({ hit: true });
export const CACHE_MISS: CacheMessage = Object.freeze({ hit: false });
