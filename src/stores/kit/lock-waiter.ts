/**
 * How a process waiting for a held lock learns that it was released: one shared mechanism, fed by
 * a per-backend {@link ReleaseFeed} (PostgreSQL LISTEN/NOTIFY, Redis pub/sub, a directory watch),
 * plus the releases made in this very process. A feed only shortens the wait: every waiter still
 * checks the lock again after a safety pause, so a lost notification (a dropped connection, a lock
 * freed by its lease running out) costs at most that pause, never a hang.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from './backoff.js';

/** The safety pause of a waiter whose backend pushes releases: a lost notification costs this much. */
export const DEFAULT_SAFETY_POLL_MS = 1000;
/**
 * The cap of the growing, jittered pauses of a waiter that polls: the backend cannot push releases
 * (MySQL; SQLite across processes), or its feed is down.
 */
export const DEFAULT_POLL_CAP_MS = 25;
/** A feed with no waiter for this long is stopped (its connection closed); the next wait starts it again. */
const FEED_IDLE_MS = 10_000;
/** After a feed failed to start, waits poll for this long before a wait tries to start it again. */
const FEED_RETRY_MS = 10_000;
const PENDING = Symbol('pending');

/** A backend's channel of lock releases, shared by every waiter of one store. */
export interface ReleaseFeed {
  /**
   * Starts delivering the names of locks released anywhere (any process) to `onRelease`, and
   * resolves once a release published from then on is delivered, to the way to stop it. Called on
   * the first wait (and again after a stop). Rejecting (having freed what it opened) leaves the
   * store's waiters polling. `onLost` tells that delivery stopped later (a dropped connection,
   * already freed): the next wait starts the feed again.
   */
  start(onRelease: (name: string) => void, onLost: () => void): Promise<FeedSubscription>;
}

/** A started {@link ReleaseFeed}. */
export interface FeedSubscription {
  /** Stops the delivery and frees what `start` opened (a connection, a watcher). */
  stop(): Promise<void>;
}

/** The timing of a {@link LockWaiter}. */
export interface LockWaiterOptions {
  /** The pause between two checks of a held lock while the feed delivers: the net for a lost notification. */
  readonly safetyMs?: number;
  /** The cap of the growing, jittered pauses while releases are not pushed. */
  readonly pollCapMs?: number;
}

/** One waiter's subscription to the releases of one lock name. */
export interface LockWatch {
  /**
   * Pauses until a release of the name is heard (or was heard since the last pause), the pause
   * runs out (at most `leftMs`), or `signal` aborts. Resolves true when woken by a release.
   */
  pause(attempt: number, leftMs: number, signal: AbortSignal | undefined): Promise<boolean>;
  /** Ends the subscription; idempotent. */
  end(): void;
}

/**
 * The wake-up side of a store's lock: waiters {@link LockWaiter.watch | watch} a name before their
 * first attempt (so a release between an attempt and the pause that follows is never missed), and
 * pause until a release is heard or the pause runs out. Releases come from the backend's feed and
 * from {@link LockWaiter.released}, called by this process's own releases (which wakes waiters in
 * this process at once, with or without a feed).
 */
export class LockWaiter {
  readonly #feed: ReleaseFeed | undefined;
  readonly #safetyMs: number;
  readonly #pollCapMs: number;
  readonly #watchers = new Map<string, Set<() => void>>();
  /** The started feed once it delivers, null if it could not start; undefined while not started. */
  #live: Promise<FeedSubscription | null> | undefined;
  #closed = false;
  #idleTimer: NodeJS.Timeout | undefined;
  /** When a feed that failed to start may be tried again (monotonic ms). */
  #retryAt = 0;

  constructor(feed: ReleaseFeed | undefined, options: LockWaiterOptions = {}) {
    this.#feed = feed;
    this.#safetyMs = options.safetyMs ?? DEFAULT_SAFETY_POLL_MS;
    this.#pollCapMs = options.pollCapMs ?? DEFAULT_POLL_CAP_MS;
  }

  /**
   * Subscribes to the releases of `name`. The feed starts in the background: until it delivers, the
   * pauses are the short poll, so a feed slow to connect (or never connecting) neither delays a
   * waiter past its time limit or signal nor loses a release.
   */
  async watch(name: string): Promise<LockWatch> {
    let heard = false;
    let wake: (() => void) | undefined;
    const onRelease = (): void => {
      heard = true;
      wake?.();
    };
    let set = this.#watchers.get(name);
    if (set === undefined) this.#watchers.set(name, (set = new Set()));
    set.add(onRelease);
    clearTimeout(this.#idleTimer);
    let live = false;
    void this.#start().then((subscription) => {
      live = subscription !== null;
    });
    const watchers = set;
    return {
      pause: async (attempt, leftMs, signal) => {
        if (heard) {
          heard = false;
          return true;
        }
        // Without a live feed: the growing, jittered poll.
        const pauseMs = Math.min(leftMs, live ? this.#safetyMs : backoffMs(attempt, { capMs: this.#pollCapMs }));
        const woken = new AbortController();
        wake = () => woken.abort();
        const stop = signal === undefined ? woken.signal : AbortSignal.any([signal, woken.signal]);
        await sleep(pauseMs, undefined, { signal: stop }).catch(() => undefined);
        wake = undefined;
        const result = heard;
        heard = false;
        return result;
      },
      end: () => {
        watchers.delete(onRelease);
        if (watchers.size === 0 && this.#watchers.get(name) === watchers) this.#watchers.delete(name);
        if (this.#watchers.size === 0 && this.#live !== undefined) this.#stopWhenIdle();
      },
    };
  }

  /** Wakes every waiter of `name` in this process (a release heard from the feed, or made here). */
  released(name: string): void {
    const set = this.#watchers.get(name);
    if (set === undefined) return;
    for (const wake of [...set]) wake();
  }

  /** Stops the feed; waits still running go on polling until they end. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    const started = this.#live;
    this.#live = undefined;
    if (started === undefined) return;
    // A start still connecting is not waited for (it may never settle): it stops itself once it
    // does, since the waiter is closed.
    const settled = await Promise.race([started, Promise.resolve(PENDING)]);
    if (settled !== PENDING) await settled?.stop().catch(() => undefined);
  }

  /** Stops the feed after FEED_IDLE_MS without a waiter: an idle store holds no extra connection. */
  #stopWhenIdle(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      const started = this.#live;
      if (started === undefined || this.#watchers.size > 0 || this.#closed) return;
      this.#live = undefined;
      void started.then((subscription) => subscription?.stop()).catch(() => undefined);
    }, FEED_IDLE_MS).unref();
  }

  /** Forgets a feed that stopped delivering, so the next wait starts it again. */
  #restartLater(lost: Promise<FeedSubscription | null>): void {
    if (this.#live === lost && !this.#closed) this.#live = undefined;
  }

  #start(): Promise<FeedSubscription | null> {
    if (this.#feed === undefined || this.#closed) return Promise.resolve(null);
    if (this.#live !== undefined) return this.#live;
    // A feed that failed to start is not retried at once: no new connection per contended acquire
    // while the server refuses them (max_connections, maxclients).
    if (performance.now() < this.#retryAt) return Promise.resolve(null);
    const started: Promise<FeedSubscription | null> = this.#feed
      .start(
        (name) => this.released(name),
        () => this.#restartLater(started),
      )
      .then((subscription) => {
        if (!this.#closed) return subscription;
        void subscription.stop().catch(() => undefined);
        return null;
      })
      .catch(() => {
        // Not fatal: the waiters poll, and a wait after FEED_RETRY_MS tries again.
        this.#retryAt = performance.now() + FEED_RETRY_MS;
        this.#restartLater(started);
        return null;
      });
    this.#live = started;
    return started;
  }
}
