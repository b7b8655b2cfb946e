import { ErrorCode, ZohoTokenError } from '../errors.js';
import { forcedRefreshLockName } from '../stores/kit/store-lock.js';
import type { TokenStore } from '../stores/kit/token-store.js';
import type { Clock } from './zoho-auth-options.js';

/**
 * Answers "may this forced refresh (after the API rejected an access token) go ahead?": not when
 * the rejected token is one a forced refresh minted less than `intervalMs` ago, since refreshing
 * again would not help (wrong API domain, data center or scopes) and would only burn Zoho's limits.
 * Forced refreshes are remembered in this process (no I/O) and, when the store has a lock, across
 * processes as marker locks `forced:<id>:<hash>` whose lease is the interval.
 */
export class ForcedRefreshPolicy {
  readonly #intervalMs: number;
  readonly #clock: Clock;
  readonly #store: TokenStore;
  /** Token id → the last forced refresh in this process and what it minted. */
  readonly #lastForced = new Map<string, { at: number; minted: string }>();

  constructor(intervalMs: number, clock: Clock, store: TokenStore) {
    this.#intervalMs = intervalMs;
    this.#clock = clock;
    this.#store = store;
  }

  /**
   * Throws THROTTLED unless a forced refresh of token `id`, whose access token `rejected` the API
   * refused, may go ahead. `acrossProcesses` also probes the other processes' markers: only under
   * the token's refresh lock, so probes never race each other.
   */
  async check(id: string, rejected: string, acrossProcesses: boolean): Promise<void> {
    const now = this.#clock.now();
    const last = this.#lastForced.get(id);
    if (last !== undefined && last.minted === rejected && now - last.at < this.#intervalMs) {
      const retryAfterMs = this.#intervalMs - (now - last.at);
      throw new ZohoTokenError(
        ErrorCode.THROTTLED,
        `The API rejected an access token refreshed ${now - last.at} ms ago; not refreshing token id ${id} again for ${retryAfterMs} ms (check the API domain, data center and scopes)`,
        { retryAfterMs },
      );
    }
    if (acrossProcesses && (await this.#markedElsewhere(id, rejected))) {
      throw new ZohoTokenError(
        ErrorCode.THROTTLED,
        `The API rejects the access token that a forced refresh of token id ${id} minted less than ${this.#intervalMs} ms ago; not refreshing again (check the API domain, data center and scopes)`,
        { retryAfterMs: this.#intervalMs },
      );
    }
  }

  /**
   * Records that a forced refresh of token `id` minted `minted`. `acrossProcesses` also leaves the
   * marker for other processes: only under the token's refresh lock.
   */
  async record(id: string, minted: string, acrossProcesses: boolean): Promise<void> {
    this.#lastForced.set(id, { at: this.#clock.now(), minted });
    const lock = this.#store.lock;
    if (!acrossProcesses || lock === undefined || this.#intervalMs <= 0) return;
    // Held until its lease runs out: that lease IS the shared "recently forced" window.
    await lock.acquire(forcedRefreshLockName(id, minted), { leaseMs: Math.ceil(this.#intervalMs), waitMs: 0 });
  }

  /** Forgets token `id` (revoked: a new login starts afresh). */
  forget(id: string): void {
    this.#lastForced.delete(id);
  }

  async #markedElsewhere(id: string, accessToken: string): Promise<boolean> {
    const lock = this.#store.lock;
    if (lock === undefined || this.#intervalMs <= 0) return false;
    const probe = await lock.acquire(forcedRefreshLockName(id, accessToken), { leaseMs: 1_000, waitMs: 0 });
    if (probe === null) return true;
    await probe.release();
    return false;
  }
}
