import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../errors.js';
import { DEFAULT_THROTTLE_RETRY_AFTER_MS } from '../oauth/classify.js';
import type { LockHandle, StoreLock } from '../stores/kit/token-store.js';
import type { Logger } from '../logger.js';

/**
 * Failures that cool a token down: the accounts server did not answer, answered garbage, or will
 * answer the same again at once (throttle, a rejected client). Not `INVALID_GRANT` (the token is
 * dead, not cooling) and not errors raised before anything was sent.
 */
const COOLING_CODES: readonly ErrorCode[] = [
  ErrorCode.SERVER_ERROR,
  ErrorCode.NETWORK,
  ErrorCode.THROTTLED,
  ErrorCode.MALFORMED_RESPONSE,
  ErrorCode.OAUTH_ERROR,
  ErrorCode.INVALID_CLIENT,
  ErrorCode.INVALID_CLIENT_SECRET,
  // An unbound row rejected at the configured data center: the same guess would be rejected again.
  ErrorCode.TOKEN_UNBOUND,
];

/** Held (never released by others) while token `id` cools down: the one probe every refresh makes. */
export function cooldownLockName(id: string): string {
  return `cooldown:${id}`;
}

/** Held alongside {@link cooldownLockName}; tells other processes which error to fail with. */
function cooldownCodeLockName(id: string, code: ErrorCode): string {
  return `cooldown:${id}:${code}`;
}

export interface RefreshCooldownOptions {
  /** First window in ms; 0 turns the back-off off (a throttle still blocks for Zoho's time). */
  readonly baseMs: number;
  readonly maxMs: number;
  readonly log: Logger;
  /** @default Math.random */
  readonly random?: () => number;
}

interface Entry {
  /** Consecutive failed refreshes seen by this process. */
  failures: number;
  /** Clock time the cool-down ends. */
  until: number;
  error: ZohoTokenError;
  /** Our markers in the store's lock: released as soon as we try again. */
  markers: LockHandle[];
}

/**
 * After a failed refresh, no new refresh of that token for a while: exponential, capped and
 * jittered, so an outage costs a few requests instead of one per caller. Zoho's throttle goes
 * through the same gate (with its own retry time as the floor).
 *
 * Shared across processes through the store's lock when it has one: the failing process holds the
 * marker `cooldown:<id>` (and one naming the error code) with the window as lease; every other
 * process probes it before refreshing. Probes and markers are only touched under the token's
 * refresh lock, so a probe never mistakes another probe for a cool-down. Without a lock the
 * cool-down is per process.
 */
export class RefreshCooldown {
  readonly #options: RefreshCooldownOptions;
  readonly #random: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: RefreshCooldownOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
  }

  /**
   * The error to fail fast with while token `id` cools down, or null when a refresh may be tried.
   * Call under the token's refresh lock.
   */
  async check(lock: StoreLock | undefined, id: string, now: number): Promise<ZohoTokenError | null> {
    const entry = this.#entries.get(id);
    if (entry !== undefined && now < entry.until) return this.#failFast(id, entry.error, entry.until - now);
    if (entry !== undefined) await this.#release(entry);
    if (lock === undefined) return null;
    const code = await this.#sharedCode(lock, id);
    if (code === null) return null;
    // Another process's cool-down: its end is unknown here, so wait one base window before probing again.
    const waitMs = Math.max(1, this.#options.baseMs);
    const error = new ZohoTokenError(code, `Another process's refresh of token id ${id} failed (${code}) moments ago`);
    this.#entries.set(id, { failures: entry?.failures ?? 0, until: now + waitMs, error, markers: [] });
    return this.#failFast(id, error, waitMs);
  }

  /** Records a failed refresh; returns the cool-down in ms (0: none). Call under the refresh lock. */
  async failed(lock: StoreLock | undefined, id: string, error: unknown, now: number): Promise<number> {
    if (!isZohoTokenError(error) || !COOLING_CODES.includes(error.code)) return 0;
    const previous = this.#entries.get(id);
    if (previous !== undefined) await this.#release(previous);
    const failures = (previous?.failures ?? 0) + 1;
    const { baseMs, maxMs } = this.#options;
    const window = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
    // "Equal jitter": never less than half the window, so callers cannot line up on a near-zero wait.
    let ms = Math.ceil(window / 2 + (this.#random() * window) / 2);
    if (error.code === ErrorCode.THROTTLED)
      ms = Math.ceil(Math.max(ms, error.retryAfterMs ?? DEFAULT_THROTTLE_RETRY_AFTER_MS));
    if (ms <= 0) {
      this.#entries.delete(id);
      return 0;
    }
    const entry: Entry = { failures, until: now + ms, error, markers: [] };
    this.#entries.set(id, entry);
    if (lock !== undefined) {
      try {
        for (const name of [cooldownCodeLockName(id, error.code), cooldownLockName(id)]) {
          const handle = await lock.acquire(name, { leaseMs: ms, waitMs: 0 });
          if (handle !== null) entry.markers.push(handle);
        }
      } catch (storeError) {
        this.#options.log.warn(
          { tokenId: id, err: storeError },
          'could not share the refresh cool-down through the store; it holds in this process only',
        );
      }
    }
    return ms;
  }

  /** A refresh succeeded: the token is no longer cooling. */
  async succeeded(id: string): Promise<void> {
    const entry = this.#entries.get(id);
    this.#entries.delete(id);
    if (entry !== undefined) await this.#release(entry);
  }

  /** Forgets token `id` (revoked or dead). */
  forget(id: string): void {
    void this.succeeded(id);
  }

  #failFast(id: string, last: ZohoTokenError, retryAfterMs: number): ZohoTokenError {
    return new ZohoTokenError(
      last.code,
      `Refreshing token id ${id} failed recently; no new attempt for ${retryAfterMs} ms (${last.message})`,
      {
        retryAfterMs,
        ...(last.status === undefined ? {} : { status: last.status }),
        cause: last,
      },
    );
  }

  async #sharedCode(lock: StoreLock, id: string): Promise<ErrorCode | null> {
    if (!(await probe(lock, cooldownLockName(id)))) return null;
    for (const code of COOLING_CODES) if (await probe(lock, cooldownCodeLockName(id, code))) return code;
    // The gate without a code marker (its holder died between the two): an unspecific network error.
    return ErrorCode.NETWORK;
  }

  async #release(entry: Entry): Promise<void> {
    const markers = entry.markers.splice(0);
    for (const marker of markers) {
      try {
        await marker.release();
      } catch (error) {
        // Its lease ends it anyway.
        this.#options.log.debug({ err: error }, 'releasing a cool-down marker failed');
      }
    }
  }
}

/** True when lock `name` is held by someone: a take-and-release with no wait. */
async function probe(lock: StoreLock, name: string): Promise<boolean> {
  const handle = await lock.acquire(name, { leaseMs: 1_000, waitMs: 0 });
  if (handle === null) return true;
  await handle.release();
  return false;
}
