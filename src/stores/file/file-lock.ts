/**
 * Cross-process locks beside a file, with `proper-lockfile`: a lock is a directory made with
 * `mkdir` (atomic on local filesystems), kept fresh by its holder and taken over once stale.
 *
 * We add an owner record inside the directory (host, pid namespace, pid, a random owner id and
 * an optional lease end) through proper-lockfile's `fs` option, so that:
 * - a lock left by a dead process on this host is taken over at once, not after the stale time;
 * - a lease ends when it says, even if its holder's event loop is stuck;
 * - a release removes the directory only if this owner still holds it.
 * A lock directory without an owner record (its maker died between `mkdir` and writing it) is
 * stale after OWNERLESS_GRACE_MS.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { lock as lockDirectory } from 'proper-lockfile';
import type { ZohoTokenError } from '../../errors.js';
import { PRIVATE_DIRECTORY_MODE } from './file-mode.js';
import { checkLockArguments, type LockHandle, type LockOptions, type StoreLock } from '../kit/token-store.js';

/** proper-lockfile's floor for the stale time. */
export const MIN_STALE_MS = 2000;
const OWNERLESS_GRACE_MS = 2000;
/** Longer delays overflow Node's timers (they would fire at once); a day is stale enough. */
const MAX_STALE_MS = 86_400_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const OWNER_FILE = 'owner';

export interface FileLockOptions {
  /** A lock whose holder stopped refreshing it this long ago is taken over (at least 2000). */
  staleMs: number;
  /** How long to wait for a lock held by someone else; 0 tries once. */
  waitMs: number;
  /** Ends the lock this long after it was taken, for its holder and for everyone else. */
  leaseMs?: number;
  /**
   * What the locks of one caller learn once about the file system (proper-lockfile probes the
   * mtime precision and keeps the answer on the `fs` object it is given); `{}` to start.
   */
  cache?: object;
}

export interface HeldFileLock {
  /** True once proper-lockfile found the lock taken over (its holder missed the stale time). */
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
 * Takes the lock directory `lockPath`, retrying with growing, jittered pauses until `waitMs` has
 * passed. Resolves to null when the wait ran out; rejects on I/O errors (missing directory…).
 */
export async function acquireFileLock(lockPath: string, options: FileLockOptions): Promise<HeldFileLock | null> {
  const me = await identityOf();
  const deadline = Date.now() + options.waitMs;
  for (let attempt = 0; ; attempt++) {
    const owner: Owner = {
      ...me,
      pid: process.pid,
      id: randomUUID(),
      expiresAt: options.leaseMs === undefined ? null : Date.now() + options.leaseMs,
    };
    const held = await tryLock(lockPath, owner, me, options);
    if (held) return held;
    const left = deadline - Date.now();
    if (left <= 0) return null;
    await sleep(Math.min(left, 1 + Math.random() * Math.min(50, 2 ** attempt)));
  }
}

async function tryLock(
  lockPath: string,
  owner: Owner,
  me: Identity,
  options: FileLockOptions,
): Promise<HeldFileLock | null> {
  let lost = false;
  let released = false;
  let unlock: () => Promise<void>;
  const staleMs = Math.min(MAX_STALE_MS, Math.max(MIN_STALE_MS, options.staleMs));
  const cache = options.cache ?? {};
  const lockFs = ownerAwareFs(owner, me, cache);
  try {
    unlock = await lockDirectory(lockPath, {
      lockfilePath: lockPath,
      realpath: false,
      stale: staleMs,
      // Refresh four times per stale period, so one late timer does not lose the lock.
      update: Math.max(1000, Math.floor(staleMs / 4)),
      retries: 0,
      fs: lockFs,
      onCompromised: () => {
        lost = true;
      },
    });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ELOCKED') return null;
    throw error;
  } finally {
    keepProbe(lockFs, cache);
  }
  /** Whether the lock directory is still the one we made: a takeover removes it and makes another. */
  const stillOurs = async (): Promise<boolean> => {
    const made = lockFs.madeDirectory();
    // Without a birth time an equal inode number proves nothing (it is reused): read the owner record.
    if (made === null || made.birthtimeMs === 0) return ownedBy(lockPath, owner.id);
    const now = await fs.promises.stat(lockPath).catch(() => null);
    return now !== null && now.ino === made.ino && now.birthtimeMs === made.birthtimeMs;
  };
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    clearTimeout(leaseTimer);
    // After a takeover, proper-lockfile's unlock would free the new holder's registration.
    if (lost || !(await stillOurs())) return;
    lockFs.ownerChecked = true;
    await unlock().catch((error: unknown) => {
      const code = (error as { code?: unknown }).code;
      if (code !== 'ERELEASED' && code !== 'ENOTACQUIRED') throw error;
    });
  };
  const leaseTimer =
    options.leaseMs === undefined || options.leaseMs > MAX_TIMER_MS
      ? undefined
      : setTimeout(() => void release().catch(() => {}), options.leaseMs).unref();
  return {
    get lost() {
      return lost;
    },
    release,
  };
}

type Callback<T = void> = (error: NodeJS.ErrnoException | null, value?: T) => void;

/**
 * The `fs` proper-lockfile uses for one lock attempt. `mine` tells the two roles apart: after our
 * `mkdir` succeeded, stats are the holder's own checks (real mtime); before, they are a
 * contender's staleness checks, where a dead, expired or ownerless holder reads as stale.
 */
function ownerAwareFs(owner: Owner, me: Identity, cache: object) {
  let mine = false;
  let judged: number | null = null;
  const ownerText = JSON.stringify(owner);
  const removeLock = (path: string, callback: Callback): void =>
    fs.unlink(join(path, OWNER_FILE), () =>
      fs.rmdir(path, (error) => callback(error?.code === 'ENOENT' ? null : error)),
    );
  let made: MadeDirectory | null = null;
  // proper-lockfile keeps what it probed on this object: inheriting from `cache` shares it.
  return Object.assign(Object.create(cache) as object, {
    /** Set by a release that has just checked the owner record, to spare a second read. */
    ownerChecked: false,
    /** Inode and birth time of the directory our `mkdir` made. */
    madeDirectory: (): MadeDirectory | null => made,
    mkdir(path: string, callback: Callback) {
      // Explicit mode: the default, 0777 less the umask, is world-writable under umask 000.
      fs.mkdir(path, { mode: PRIVATE_DIRECTORY_MODE }, (error) => {
        if (error) return callback(error);
        mine = true;
        // Before the callback: proper-lockfile then records the directory's mtime, which adding
        // the record changes.
        fs.writeFile(join(path, OWNER_FILE), ownerText, { mode: 0o600 }, (writeError) => {
          if (!writeError) return callback(null);
          fs.rm(path, { recursive: true, force: true }, () => callback(writeError));
        });
      });
    },
    stat(path: string, callback: Callback<fs.Stats>) {
      fs.stat(path, (error, stats) => {
        if (!error && mine) made ??= { ino: stats!.ino, birthtimeMs: stats!.birthtimeMs };
        if (error || mine) return callback(error, stats);
        judged = stats.ino;
        isAbandoned(path, stats, me).then(
          (abandoned) =>
            callback(null, abandoned ? Object.assign(Object.create(stats) as fs.Stats, { mtime: new Date(0) }) : stats),
          () => callback(null, stats),
        );
      });
    },
    rmdir(path: string, callback: Callback) {
      if (mine) {
        // Our own release (or a failed probe): only while the directory is still ours.
        if (this.ownerChecked) return removeLock(path, callback);
        readOwner(path).then(
          (found) => (found?.id === owner.id ? removeLock(path, callback) : callback(null)),
          () => callback(null),
        );
        return;
      }
      // Taking over a stale lock: only the very directory judged stale, not one made since.
      fs.stat(path, (error, stats) => {
        if (error) return callback(error);
        if (stats.ino !== judged) return callback(Object.assign(new Error('lock replaced'), { code: 'ENOENT' }));
        removeLock(path, callback);
      });
    },
    rmdirSync(path: string) {
      // proper-lockfile's exit hook, for locks still held when the process exits.
      try {
        if ((JSON.parse(fs.readFileSync(join(path, OWNER_FILE), 'utf8')) as Owner).id === owner.id) {
          fs.rmSync(path, { recursive: true, force: true });
        }
      } catch {
        // Nothing to clean.
      }
    },
    utimes: fs.utimes,
    realpath: fs.realpath,
  });
}

interface MadeDirectory {
  ino: number;
  birthtimeMs: number;
}

/** Moves what proper-lockfile probed onto `cache`, for the next attempts. */
function keepProbe(lockFs: object, cache: object): void {
  for (const symbol of Object.getOwnPropertySymbols(lockFs)) {
    if (!Object.prototype.hasOwnProperty.call(cache, symbol)) {
      Object.defineProperty(cache, symbol, { value: (lockFs as Record<symbol, unknown>)[symbol] });
    }
  }
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
async function isAbandoned(lockPath: string, stats: fs.Stats, me: Identity): Promise<boolean> {
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
  #held = 0;
  readonly #cache = {};

  constructor(filename: string, assertOpen: () => void, toError: (what: string, error: unknown) => ZohoTokenError) {
    this.#filename = filename;
    this.#assertOpen = assertOpen;
    this.#toError = toError;
  }

  /** The lock directory of a name: a hash, so any name is a safe file name. */
  pathOf(name: string): string {
    return `${this.#filename}.${createHash('sha256').update(name).digest('hex').slice(0, 16)}.lock`;
  }

  async acquire(name: string, options: LockOptions): Promise<LockHandle | null> {
    this.#assertOpen();
    checkLockArguments(name, options);
    const { leaseMs, waitMs } = options;
    let held: HeldFileLock | null;
    try {
      held = await acquireFileLock(this.pathOf(name), { staleMs: leaseMs, waitMs, leaseMs, cache: this.#cache });
    } catch (error) {
      throw this.#toError('cannot take a lock', error);
    }
    if (held === null) return null;
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
      },
    };
  }

  /** How many locks this process holds through this object and has not released. */
  get held(): number {
    return this.#held;
  }
}
