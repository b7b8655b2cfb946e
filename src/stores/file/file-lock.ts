/**
 * Cross-process locks beside a file. A lock is a directory made with `mkdir`, holding an owner
 * record (host, pid namespace, pid, a random owner id and an optional lease end). Its holder
 * refreshes the directory's mtime every quarter of the stale time; a contender takes it over when
 * - its mtime is older than the stale time (the holder hung, or crashed on another host);
 * - its lease ended, even if its holder's event loop is stuck;
 * - its holder is a dead process on this host: at once, not after the stale time;
 * - it has no owner record (its maker died between `mkdir` and writing it) and is older than
 *   OWNERLESS_GRACE_MS.
 *
 * Why this is safe:
 * - `mkdir` is atomic: of several processes making the directory, one succeeds, the others get
 *   EEXIST. Takeovers go one at a time (a second directory, `<lock>.takeover`) and re-judge the
 *   lock under it; the stale directory is renamed away and its owner record checked before it is
 *   removed (a lock made in that instant is put back), then the taker makes its own with `mkdir`,
 *   which a normal contender may win instead: either way one holder.
 * - At every refresh the holder checks that the mtime is still the one it set: a takeover or a
 *   refresh missed for longer than the stale time marks the lock `lost`, and the writer checks
 *   `lost` before every rename and append.
 * - A release (or the exit of the process) removes the directory only while it is the one this
 *   owner made (same inode and birth time, or the owner record).
 * This is the protocol of `proper-lockfile`, which these locks once went through; owning its few
 * lines spares us second-guessing the private behaviour of its `fs` hook and its mtime-precision
 * cache, which a minor release of that package could change.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, rmSync, type Stats } from 'node:fs';
import { mkdir, readFile, readlink, rename, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortedError } from '../../abort.js';
import type { ZohoTokenError } from '../../errors.js';
import { PRIVATE_DIRECTORY_MODE } from './file-mode.js';
import { checkLockArguments, type LockHandle, type LockOptions, type StoreLock } from '../kit/token-store.js';
import { backoffMs } from '../kit/backoff.js';
import type { LockWaiter, LockWatch } from '../kit/lock-waiter.js';
import { isSatisfied } from '../kit/store-lock.js';

/** The floor for the stale time: two refreshes (at most one a second) fit in it. */
export const MIN_STALE_MS = 2000;
const OWNERLESS_GRACE_MS = 2000;
/** A takeover lock older than this was left by a contender that died mid-takeover. */
const TAKEOVER_GRACE_MS = 5000;
/** Longer delays overflow Node's timers (they would fire at once); a day is stale enough. */
const MAX_STALE_MS = 86_400_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A refresh that failed (not for a missing directory) is tried again this soon. */
const REFRESH_RETRY_MS = 1000;
const OWNER_FILE = 'owner';

export interface FileLockOptions {
  /** A lock whose holder stopped refreshing it this long ago is taken over (at least 2000). */
  staleMs: number;
  /** How long to wait for a lock held by someone else; 0 tries once. */
  waitMs: number;
  /** Ends the lock this long after it was taken, for its holder and for everyone else. */
  leaseMs?: number;
  /** Stops the polling: the wait ends as if it ran out (the caller reports the abort). */
  signal?: AbortSignal;
  /** Wakes the wait when the lock directory is removed (keyed by its base name); else it polls. */
  waiter?: LockWaiter;
  /** Asked after each wake-up: true ends the wait at once, as if it ran out (LockOptions.satisfied). */
  satisfied?: (() => Promise<boolean> | boolean) | undefined;
}

export interface HeldFileLock {
  /** True once the lock was found taken over (its holder missed the stale time). */
  readonly lost: boolean;
  /** Removes the lock if this owner still holds it; idempotent. */
  release(): Promise<void>;
}

interface Owner {
  host: string;
  pidns: string;
  pid: number;
  id: string;
  expiresAt: number | null;
}

interface Identity {
  host: string;
  /** The pid namespace: the same pid in another container is another process. '' when unknown. */
  pidns: string;
}

let identity: Promise<Identity> | undefined;
const identityOf = (): Promise<Identity> =>
  (identity ??= readlink('/proc/self/ns/pid').then(
    (pidns) => ({ host: hostname(), pidns }),
    () => ({ host: hostname(), pidns: process.platform === 'linux' ? '' : 'none' }),
  ));

/**
 * Lock directories to remove if the process exits while holding them. An exit is an event of the
 * whole process, so this one set (and one listener, added with the first lock) serves every lock.
 * A process killed by a signal leaves its directory: the owner record lets a contender on this
 * host take it over at once, one elsewhere after the stale time.
 */
const heldAtExit = new Set<() => void>();
let exitListener = false;

function removeAtExit(cleanup: () => void): void {
  if (!exitListener) {
    exitListener = true;
    process.once('exit', () => {
      for (const remove of heldAtExit) remove();
    });
  }
  heldAtExit.add(cleanup);
}

/**
 * Takes the lock directory `lockPath`, retrying with growing, jittered pauses until `waitMs` has
 * passed. Resolves to null when the wait ran out; rejects on I/O errors (missing directory…).
 */
export async function acquireFileLock(lockPath: string, options: FileLockOptions): Promise<HeldFileLock | null> {
  const me = await identityOf();
  const deadline = Date.now() + options.waitMs;
  const key = basename(lockPath);
  let watch: LockWatch | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0 && options.satisfied !== undefined && (await isSatisfied(options.satisfied))) return null;
      const owner: Owner = {
        ...me,
        pid: process.pid,
        id: randomUUID(),
        expiresAt: options.leaseMs === undefined ? null : Date.now() + options.leaseMs,
      };
      const held = await tryLock(lockPath, owner, me, options);
      if (held) return held;
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted) return null;
      if (options.waiter !== undefined && watch === undefined) {
        // Watched once found taken, then tried again at once: a removal before the watch is not missed.
        watch = await options.waiter.watch(key);
        continue;
      }
      if (watch !== undefined) {
        await watch.pause(attempt, left, options.signal);
        if (options.signal?.aborted) return null;
        continue;
      }
      const pause = Math.min(left, backoffMs(attempt, { baseMs: 1, capMs: 50 }));
      // An abort ends the pause at once: a cancelled caller must not keep the lock directory polled.
      const aborted = await sleep(pause, false, { signal: options.signal }).catch(() => true);
      if (aborted) return null;
    }
  } finally {
    watch?.end();
  }
}

/** One attempt: makes the directory, or takes it over once if it is stale. Null when it is held. */
async function tryLock(
  lockPath: string,
  owner: Owner,
  me: Identity,
  options: FileLockOptions,
): Promise<HeldFileLock | null> {
  const staleMs = Math.min(MAX_STALE_MS, Math.max(MIN_STALE_MS, options.staleMs));
  const ownerText = JSON.stringify(owner);
  let made = await makeLock(lockPath, ownerText);
  if (made === null) {
    if (!(await removeIfStale(lockPath, staleMs, me))) return null;
    // Once only: a directory made meanwhile is someone else's fresh lock.
    made = await makeLock(lockPath, ownerText);
    if (made === null) return null;
  }
  return hold(lockPath, owner.id, made, staleMs, options.leaseMs);
}

/** Inode, birth time and mtime of the directory our `mkdir` made. */
interface MadeDirectory {
  ino: number;
  birthtimeMs: number;
  mtime: Date;
}

/** Makes the lock directory with our owner record in it; null when it exists already. */
async function makeLock(lockPath: string, ownerText: string): Promise<MadeDirectory | null> {
  try {
    // Explicit mode: the default, 0777 less the umask, is world-writable under umask 000.
    await mkdir(lockPath, { mode: PRIVATE_DIRECTORY_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw error;
  }
  const ours = await stat(lockPath).catch(() => null);
  try {
    await writeFile(join(lockPath, OWNER_FILE), ownerText, { mode: 0o600 });
    // After the record: adding it changed the directory's mtime, which the refreshes compare with.
    const stats = await stat(lockPath);
    if (ours === null || !sameDirectory(stats, ours)) return null;
    return { ino: stats.ino, birthtimeMs: stats.birthtimeMs, mtime: stats.mtime };
  } catch (error) {
    // Gone meanwhile (taken over as ownerless): just not ours.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Remove only the directory this call made, never one another contender made since.
    const now = await stat(lockPath).catch(() => null);
    if (ours !== null && now !== null && sameDirectory(now, ours)) await removeLock(lockPath).catch(() => {});
    throw error;
  }
}

function sameDirectory(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.birthtimeMs === b.birthtimeMs;
}

/**
 * Removes the lock directory if it is stale: true when it is gone (removed, or removed by
 * someone else meanwhile), false while it is held.
 *
 * Takeovers are serialized by a second lock directory, `<lock>.takeover`, and re-judged under it,
 * so two contenders that both judged the lock stale cannot both remove it (one of them would
 * remove the other's brand-new lock: `mkdir` after `rmdir` often gets the same inode back, so an
 * inode check alone cannot tell them apart). The stale directory is first renamed to a unique
 * name and its owner record checked there: if it turns out to be a lock made in the meantime, it
 * is put back untouched.
 */
async function removeIfStale(lockPath: string, staleMs: number, me: Identity): Promise<boolean> {
  const judged = await judgeStale(lockPath, staleMs, me);
  if (judged !== 'stale') return judged === 'gone';
  const takeover = `${lockPath}.takeover`;
  try {
    await mkdir(takeover, { mode: PRIVATE_DIRECTORY_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another contender is taking over. One that died mid-takeover (it takes milliseconds) is cleared.
    const since = await stat(takeover).catch(() => null);
    if (since !== null && Date.now() - since.mtimeMs > TAKEOVER_GRACE_MS) await rmdir(takeover).catch(() => {});
    return false;
  }
  try {
    const before = await snapshotOf(lockPath);
    if (before === null) return true;
    // Re-judged under the takeover lock: it may have been refreshed, released or replaced.
    if ((await judgeStale(lockPath, staleMs, me)) !== 'stale') return false;
    const tombstone = `${lockPath}.stale-${randomUUID()}`;
    try {
      await rename(lockPath, tombstone);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw error;
    }
    const moved = await snapshotOf(tombstone);
    if (moved === null || moved.ownerId !== before.ownerId || !sameDirectory(moved.stats, before.stats)) {
      // A lock made in the moment between the check and the rename: give it back as it was.
      await rename(tombstone, lockPath).catch(() => {});
      return false;
    }
    await removeLock(tombstone);
    return true;
  } finally {
    await rmdir(takeover).catch(() => {});
  }
}

/** The directory's stats and owner id (undefined when it has no owner record), or null when it is gone. */
async function snapshotOf(path: string): Promise<{ stats: Stats; ownerId: string | undefined } | null> {
  const stats = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  return stats === null ? null : { stats, ownerId: (await readOwner(path))?.id };
}

/** 'gone', 'held', or 'stale' (its holder stopped refreshing, its lease ended, or its holder is dead). */
async function judgeStale(lockPath: string, staleMs: number, me: Identity): Promise<'gone' | 'held' | 'stale'> {
  let stats: Stats;
  try {
    stats = await stat(lockPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  const abandoned = await isAbandoned(lockPath, stats, me).catch(() => false);
  return abandoned || stats.mtime.getTime() < Date.now() - staleMs ? 'stale' : 'held';
}

/** Removes a lock directory and its owner record; one already gone is no error. */
async function removeLock(lockPath: string): Promise<void> {
  await unlink(join(lockPath, OWNER_FILE)).catch(() => {});
  await rmdir(lockPath).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  });
}

/** Holds a lock just made: refreshes it, notices a takeover, ends its lease, removes it at exit. */
function hold(
  lockPath: string,
  ownerId: string,
  made: MadeDirectory,
  staleMs: number,
  leaseMs: number | undefined,
): HeldFileLock {
  let lost = false;
  let released = false;
  /** Set once this lock is lost or released: no refresh from then on. */
  let stopped = false;
  // A file system that keeps whole seconds: each refresh sets the next whole second, which it keeps as set.
  const wholeSeconds = made.mtime.getTime() % 1000 === 0;
  let mtime = made.mtime.getTime();
  let refreshedAt = Date.now();
  // Four refreshes per stale period, so one late timer does not lose the lock.
  const every = Math.max(1000, Math.floor(staleMs / 4));
  let refreshTimer: NodeJS.Timeout | undefined;

  const removeOnExit = (): void => {
    try {
      if ((JSON.parse(readFileSync(join(lockPath, OWNER_FILE), 'utf8')) as Owner).id === ownerId) {
        rmSync(lockPath, { recursive: true, force: true });
      }
    } catch {
      // Nothing to clean.
    }
  };
  const stop = (): void => {
    stopped = true;
    clearTimeout(refreshTimer);
    heldAtExit.delete(removeOnExit);
  };
  const compromised = (): void => {
    stop();
    lost = true;
  };
  /** A refresh that failed: lost if the directory is gone or the stale time passed, else tried again soon. */
  const failed = (error: unknown): void => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || refreshedAt + staleMs < Date.now()) compromised();
    else schedule(REFRESH_RETRY_MS);
  };
  const refresh = async (): Promise<void> => {
    let stats: Stats;
    try {
      stats = await stat(lockPath);
    } catch (error) {
      if (!stopped) failed(error);
      return;
    }
    if (stopped) return;
    // Another mtime: the lock was taken over (and made anew) by someone who judged it stale.
    if (stats.mtime.getTime() !== mtime) return compromised();
    const next = new Date(wholeSeconds ? Math.ceil(Date.now() / 1000) * 1000 : Date.now());
    try {
      await utimes(lockPath, next, next);
    } catch (error) {
      if (!stopped) failed(error);
      return;
    }
    if (stopped) return;
    mtime = next.getTime();
    refreshedAt = Date.now();
    schedule(every);
  };
  const schedule = (delayMs: number): void => {
    // Unreferenced: a held lock must not keep the process alive; the exit removes it.
    refreshTimer = setTimeout(() => void refresh(), delayMs).unref();
  };

  /** Whether the lock directory is still the one we made: a takeover removes it and makes another. */
  const stillOurs = async (): Promise<boolean> => {
    // Without a birth time an equal inode number proves nothing (it is reused): read the owner record.
    if (made.birthtimeMs === 0) return ownedBy(lockPath, ownerId);
    const now = await stat(lockPath).catch(() => null);
    return now !== null && now.ino === made.ino && now.birthtimeMs === made.birthtimeMs;
  };
  const release = async (): Promise<void> => {
    if (released) return;
    clearTimeout(leaseTimer);
    const wasLost = lost;
    stop();
    if (!wasLost && (await stillOurs())) {
      // The exit hook stays until the directory is gone, so a failed removal can be retried.
      heldAtExit.add(removeOnExit);
      await removeLock(lockPath);
      heldAtExit.delete(removeOnExit);
    }
    released = true;
  };
  const leaseTimer =
    leaseMs === undefined || leaseMs > MAX_TIMER_MS
      ? undefined
      : setTimeout(() => void release().catch(() => {}), leaseMs).unref();

  removeAtExit(removeOnExit);
  schedule(every);
  return {
    get lost() {
      return lost;
    },
    release,
  };
}

async function readOwner(lockPath: string): Promise<Owner | null> {
  try {
    const owner = JSON.parse(await readFile(join(lockPath, OWNER_FILE), 'utf8')) as Partial<Owner>;
    return typeof owner.id === 'string' && typeof owner.pid === 'number' ? (owner as Owner) : null;
  } catch {
    return null;
  }
}

async function ownedBy(lockPath: string, id: string): Promise<boolean> {
  return (await readOwner(lockPath))?.id === id;
}

/** Whether the lock's holder is gone: lease over, process dead on this host, or never recorded. */
async function isAbandoned(lockPath: string, stats: Stats, me: Identity): Promise<boolean> {
  const owner = await readOwner(lockPath);
  if (owner === null) return Date.now() - stats.mtimeMs > OWNERLESS_GRACE_MS;
  if (owner.expiresAt !== null && Date.now() >= owner.expiresAt) return true;
  const local = owner.host === me.host && owner.pidns === me.pidns && me.pidns !== '';
  return local && owner.pid !== process.pid && !isAlive(owner.pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The `lock` capability of FileStore: named locks beside the token file, shared by every process
 * using that file, so that a token is refreshed once. The lease is the stale time and also ends
 * the lock for everyone `leaseMs` after it was taken.
 */
export class FileStoreLock implements StoreLock {
  readonly #filename: string;
  readonly #assertOpen: () => void;
  readonly #toError: (what: string, error: unknown) => ZohoTokenError;
  readonly #waiter: LockWaiter | undefined;
  #held = 0;

  constructor(
    filename: string,
    assertOpen: () => void,
    toError: (what: string, error: unknown) => ZohoTokenError,
    waiter?: LockWaiter,
  ) {
    this.#filename = filename;
    this.#assertOpen = assertOpen;
    this.#toError = toError;
    this.#waiter = waiter;
  }

  /** The lock directory of a name: a hash, so any name is a safe file name. */
  pathOf(name: string): string {
    return `${this.#filename}.${createHash('sha256').update(name).digest('hex').slice(0, 16)}.lock`;
  }

  async acquire(name: string, options: LockOptions): Promise<LockHandle | null> {
    this.#assertOpen();
    checkLockArguments(name, options);
    const { leaseMs, waitMs, signal, satisfied } = options;
    if (signal?.aborted) throw abortedError(`waiting for the lock ${name}`, signal);
    let held: HeldFileLock | null;
    try {
      held = await acquireFileLock(this.pathOf(name), {
        staleMs: leaseMs,
        waitMs,
        leaseMs,
        ...(signal === undefined ? {} : { signal }),
        ...(this.#waiter === undefined ? {} : { waiter: this.#waiter }),
        ...(satisfied === undefined ? {} : { satisfied }),
      });
    } catch (error) {
      throw this.#toError('cannot take a lock', error);
    }
    if (held === null) {
      if (signal?.aborted) throw abortedError(`waiting for the lock ${name}`, signal);
      return null;
    }
    const lock = held;
    this.#held++;
    let released = false;
    return {
      release: async () => {
        if (!released) {
          released = true;
          this.#held--;
        }
        try {
          await lock.release();
        } catch (error) {
          throw this.#toError('cannot release a lock', error);
        }
        // Waiters of this process are woken at once (the directory watch tells the others).
        this.#waiter?.released(basename(this.pathOf(name)));
      },
    };
  }

  /** How many locks this process holds through this object and has not released. */
  get held(): number {
    return this.#held;
  }
}
