import { LockWaiter } from '../kit/lock-waiter.js';
import { pollLock } from '../kit/store-lock.js';
import type { LockHandle, LockOptions, StoreLock } from '../kit/token-store.js';

/** A value bound to a statement parameter. */
export type MySqlValue = string | number | null;

/** Runs one statement with bound values on any pooled connection; the store handles errors. */
export type MySqlRunner = (sql: string, values: MySqlValue[]) => Promise<Record<string, unknown>[]>;

/** Longest lock name: the `name` column is `varchar(255)`. */
export const MAX_LOCK_NAME_LENGTH = 255;

// The SERVER's clock, in UTC epoch ms: every host compares leases against the same clock, and
// UTC_TIMESTAMP does not depend on a session's time_zone.
export const NOW_MS = "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)";

/**
 * Leased locks in a side table. `GET_LOCK` would be bound to one connection, which a pool hands
 * out at random, so a lock is a row instead: taking one is a single upsert that only changes the
 * owner when the stored lease has run out, then a read of who owns it. Both work on any pooled
 * connection and across hosts. Releasing deletes the row only if this owner still holds it.
 * MySQL has no notifications (no LISTEN, no pub/sub), so a waiter polls with short, growing,
 * jittered pauses (at most 25 ms); a release by this store wakes its own waiters at once.
 */
export class MySqlLock implements StoreLock {
  readonly #run: MySqlRunner;
  readonly #take: string;
  readonly #owner: string;
  readonly #release: string;
  readonly #waiter = new LockWaiter(undefined);

  constructor(lockTable: string, run: MySqlRunner) {
    this.#run = run;
    // Both conditions read the old expires_at, so the result is the same whether the server
    // assigns left to right or simultaneously (MariaDB's SIMULTANEOUS_ASSIGNMENT mode).
    this.#take =
      `INSERT INTO ${lockTable} (name, owner, expires_at) VALUES (?, ?, ${NOW_MS} + ?) ON DUPLICATE KEY UPDATE ` +
      `owner = IF(expires_at <= ${NOW_MS}, ?, owner), expires_at = IF(expires_at <= ${NOW_MS}, ${NOW_MS} + ?, expires_at)`;
    this.#owner = `SELECT owner FROM ${lockTable} WHERE name = ?`;
    this.#release = `DELETE FROM ${lockTable} WHERE name = ? AND owner = ?`;
  }

  async acquire(name: string, options: LockOptions): Promise<LockHandle | null> {
    return await pollLock(
      {
        maxNameLength: MAX_LOCK_NAME_LENGTH,
        tryTake: (lockName, owner, leaseMs) => this.#tryTake(lockName, owner, leaseMs),
        release: async (lockName, owner) => void (await this.#run(this.#release, [lockName, owner])),
        waiter: this.#waiter,
      },
      name,
      options,
    );
  }

  async #tryTake(name: string, owner: string, leaseMs: number): Promise<boolean> {
    await this.#run(this.#take, [name, owner, leaseMs, owner, leaseMs]);
    // The upsert's affected-row count cannot tell "took it" from "unchanged" (mysql2 asks for
    // found rows), so read the owner back; owners are random UUIDs.
    const rows = await this.#run(this.#owner, [name]);
    return rows[0]?.['owner'] === owner;
  }
}
