import type { LockWaiter } from '../kit/lock-waiter.js';
import { pollLock } from '../kit/store-lock.js';
import type { LockHandle, LockOptions, StoreLock } from '../kit/token-store.js';
import type { SqliteConnection, SqliteStatement } from './sqlite-driver.js';

/**
 * Leased locks in a side table of the token database: taking one is an insert that only succeeds
 * when no unexpired row holds the name, inside an IMMEDIATE transaction, so every process sharing
 * the file agrees. Releasing deletes the row only if this owner still holds it. SQLite has no way to
 * tell another process of a release: waiters there poll with short pauses (at most 25 ms), while
 * waiters of this process (any store over the same file and table) are woken at once.
 */
export class SqliteLock implements StoreLock {
  readonly #tryTake: (name: string, owner: string, now: number, leaseMs: number) => boolean;
  readonly #release: SqliteStatement;
  readonly #assertOpen: () => void;
  readonly #isBusy: (error: unknown) => boolean;
  readonly #waiter: LockWaiter;

  constructor(db: SqliteConnection, table: string, assertOpen: () => void, waiter: LockWaiter) {
    this.#waiter = waiter;
    const locks = `"${table}_lock"`;
    const purge = db.prepare(`DELETE FROM ${locks} WHERE name = ? AND expires_at <= ?`);
    const insert = db.prepare(
      `INSERT INTO ${locks} (name, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
    );
    this.#tryTake = db.transaction((name: string, owner: string, now: number, leaseMs: number) => {
      purge.run(name, now);
      return Number(insert.run(name, owner, now + leaseMs).changes) === 1;
    }, 'immediate');
    this.#release = db.prepare(`DELETE FROM ${locks} WHERE name = ? AND owner = ?`);
    this.#assertOpen = assertOpen;
    this.#isBusy = (error) => db.errorCode(error) === 'SQLITE_BUSY';
  }

  async acquire(name: string, options: LockOptions): Promise<LockHandle | null> {
    this.#assertOpen();
    return await pollLock(
      {
        maxNameLength: 1024,
        tryTake: (lockName, owner, leaseMs) => this.#take(lockName, owner, leaseMs),
        release: (lockName, owner) => {
          this.#assertOpen();
          this.#release.run(lockName, owner);
        },
        waiter: this.#waiter,
      },
      name,
      options,
    );
  }

  #take(name: string, owner: string, leaseMs: number): boolean {
    // A wait that outlasts close() ends with STORE_CLOSED, not the driver's "connection is not open".
    this.#assertOpen();
    try {
      return this.#tryTake(name, owner, Date.now(), leaseMs);
    } catch (error) {
      // Another process holding the write lock past the busy timeout is just contention.
      if (this.#isBusy(error)) return false;
      throw error;
    }
  }
}
