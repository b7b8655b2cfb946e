import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkLockArguments, type LockHandle, type LockOptions, type TokenStore } from './token-store.js';
import type { Logger } from '../../logger.js';
import { backoffMs } from './backoff.js';
import type { LockWaiter, LockWatch } from './lock-waiter.js';
import { abortedError, untilAborted } from '../../abort.js';
import { diagnostics, type LockWaitMessage } from '../../diagnostics.js';

/** The lock every ZohoAuth (in any process) takes before refreshing or revoking token `id`. */
export function refreshLockName(id: string): string {
  return `refresh:${id}`;
}

/**
 * A marker lock held (never released) for `forcedRefreshIntervalMs` after a forced refresh (a 401)
 * minted `accessToken`: any process told that this very token is rejected knows a refresh will not
 * help. Named by a hash so the token never lands in the lock table.
 */
export function forcedRefreshLockName(id: string, accessToken: string): string {
  return `forced:${id}:${createHash('sha256').update(accessToken).digest('hex').slice(0, 32)}`;
}

/** The lock for exchanging one grant code; named by a hash so the code never lands in the lock table. */
export function exchangeLockName(code: string): string {
  return `exchange:${createHash('sha256').update(code).digest('hex').slice(0, 32)}`;
}

export interface StoreLockOptions {
  readonly leaseMs: number;
  readonly waitMs: number;
  readonly log: Logger;
  /** The caller's signal: the wait ends with ABORTED, and nothing runs under the lock. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs `work` holding the store's lock `name` (released in `finally`), or without a lock when the
 * store has none (in-process single flight is then the only guard). When the wait runs out,
 * `onTimeout` decides: typically re-read the store, then give up with LOCK_TIMEOUT. While waiting,
 * each wake-up asks `doneElsewhere` whether the holder already did the work (a result, or
 * `undefined`): then that result is returned without taking the lock, so the waiters of a fleet are
 * served together when the holder releases, not one lock hold after another.
 */
export async function withStoreLock<T>(
  store: TokenStore,
  name: string,
  options: StoreLockOptions,
  work: () => Promise<T>,
  onTimeout: () => Promise<T>,
  doneElsewhere?: () => Promise<T | undefined>,
): Promise<T> {
  const signal = options.signal;
  if (signal?.aborted) throw abortedError(`waiting for the lock ${name}`, signal);
  if (store.lock === undefined) return work();
  const waitStarted = Date.now();
  let done: { result: T } | undefined;
  const satisfied =
    doneElsewhere &&
    (async (): Promise<boolean> => {
      const result = await doneElsewhere();
      if (result !== undefined) done = { result };
      return done !== undefined;
    });
  const acquiring = store.lock.acquire(name, {
    leaseMs: options.leaseMs,
    waitMs: options.waitMs,
    ...(signal === undefined ? {} : { signal }),
    ...(satisfied === undefined ? {} : { satisfied }),
  });
  let handle: LockHandle | null;
  try {
    handle = await untilAborted(signal, `waiting for the lock ${name}`, acquiring);
  } catch (error) {
    // A lock that ignored the signal may still be granted: give it back at once.
    acquiring.then((late) => late?.release()).catch(() => undefined);
    if (signal?.aborted) {
      publishWait(name, 'aborted', waitStarted);
      // The lock's own rejection (often the bare abort reason) may have won the race: typed either way.
      throw abortedError(`waiting for the lock ${name}`, signal);
    }
    throw error;
  }
  if (handle === null && done !== undefined) {
    publishWait(name, 'done-elsewhere', waitStarted);
    return done.result;
  }
  publishWait(name, handle === null ? 'timeout' : 'acquired', waitStarted);
  const waitedMs = Date.now() - waitStarted;
  if (handle === null) {
    options.log.warn({ lock: name, waitedMs }, 'lock wait ran out');
    return onTimeout();
  }
  if (waitedMs > 50) options.log.debug({ lock: name, waitedMs }, 'lock acquired after waiting');
  try {
    return await work();
  } finally {
    try {
      await handle.release();
    } catch (error) {
      // The lease frees it anyway; the work's own result or error matters more.
      options.log.warn({ lock: name, err: error }, 'lock release failed; the lease will expire it');
    }
  }
}

function publishWait(lock: string, outcome: LockWaitMessage['outcome'], started: number): void {
  if (diagnostics.lockWait.hasSubscribers)
    diagnostics.lockWait.publish({ lock, outcome, waitedMs: Date.now() - started });
}

/** How a backend takes and gives back one leased lock; `owner` is a fresh random id per acquire. */
export interface LockBackend {
  /** Longest lock name the backend can store. */
  readonly maxNameLength: number;
  /** One attempt: true when `owner` now holds `name` for `leaseMs`. */
  tryTake(name: string, owner: string, leaseMs: number): Promise<boolean> | boolean;
  /**
   * Deletes the lock only while `owner` still holds it, and tells the other processes' waiters
   * when the backend can (a notification sent with the delete, so it is seen once committed).
   */
  release(name: string, owner: string): Promise<void> | void;
  /** How waiters learn of releases; without one they poll with growing pauses up to 100 ms. */
  readonly waiter?: LockWaiter;
}

/**
 * Takes a leased lock: tries `backend.tryTake`, and while the lock is held pauses until a release
 * is heard (the backend's waiter) or a pause runs out, then tries again, until `waitMs` runs out
 * (then `null`). Without a waiter the pauses grow and are jittered: a short first one serves
 * waiters quickly after a short hold, and many waiters do not poll in lockstep during a long one.
 * After each pause `options.satisfied` may end the wait early (then `null` too). The handle's
 * `release` is idempotent: once it has succeeded, further calls do nothing.
 */
export async function pollLock(backend: LockBackend, name: string, options: LockOptions): Promise<LockHandle | null> {
  checkLockArguments(name, options, backend.maxNameLength);
  const owner = randomUUID();
  const deadline = Date.now() + options.waitMs;
  const signal = options.signal;
  if (signal?.aborted) throw abortedError(`waiting for the lock ${name}`, signal);
  const waiter = backend.waiter;
  let watch: LockWatch | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw abortedError(`waiting for the lock ${name}`, signal);
      if (attempt > 0 && options.satisfied !== undefined && (await isSatisfied(options.satisfied))) return null;
      if (await backend.tryTake(name, owner, options.leaseMs)) {
        let released = false;
        return {
          release: async () => {
            if (released) return;
            await backend.release(name, owner);
            released = true;
            waiter?.released(name);
          },
        };
      }
      const left = deadline - Date.now();
      if (left <= 0) return null;
      if (waiter !== undefined && watch === undefined) {
        // Watched only once the lock is found taken (an uncontended acquire costs nothing more),
        // then tried again at once: a release before the watch was live is not missed.
        watch = await waiter.watch(name);
        continue;
      }
      if (watch !== undefined) await watch.pause(attempt, left, signal);
      else
        await sleep(Math.min(left, backoffMs(attempt)), undefined, signal === undefined ? undefined : { signal }).catch(
          (error: unknown) => {
            if (!signal?.aborted) throw error;
          },
        );
    }
  } finally {
    watch?.end();
  }
}

/** A failing check (the store is unreachable for a moment) just means: try the lock. */
export async function isSatisfied(satisfied: () => Promise<boolean> | boolean): Promise<boolean> {
  try {
    return await satisfied();
  } catch {
    return false;
  }
}
