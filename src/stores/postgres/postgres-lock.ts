import type { LockWaiter } from '../kit/lock-waiter.js';
import { pollLock } from '../kit/store-lock.js';
import type { LockHandle, LockOptions, StoreLock } from '../kit/token-store.js';

/** Runs one statement on any pooled connection (autocommit), with the store's checks and errors. */
export type PostgresRun = (
  text: string,
  values: unknown[],
  secrets: string[],
) => Promise<{ rows: unknown[]; rowCount: number | null }>;

/** Lock names are keys of a b-tree index: kept well under its ~2.7 kB entry limit. */
const MAX_NAME_LENGTH = 1024;

/**
 * Leased locks in a side table (`<table>_lock`): a row per held lock, with its owner and expiry.
 * Taking one is a single upsert that only succeeds when the name is free or its lease has run out,
 * so it works on any pooled connection (unlike session advisory locks, which belong to one
 * connection). Every time is the server's `clock_timestamp()`, so hosts with skewed clocks agree.
 * Releasing deletes the row only if this owner still holds it, and in the same statement notifies
 * `channel` (sent when the delete commits), which wakes the waiters of every process at once.
 */
export class PostgresLock implements StoreLock {
  readonly #run: PostgresRun;
  readonly #take: string;
  readonly #release: string;
  readonly #channel: string;
  readonly #waiter: LockWaiter;

  constructor(lockTable: string, run: PostgresRun, channel: string, waiter: LockWaiter) {
    this.#run = run;
    this.#channel = channel;
    this.#waiter = waiter;
    this.#take =
      `INSERT INTO ${lockTable} AS l (name, owner, expires_at) ` +
      `VALUES ($1, $2, clock_timestamp() + $3::double precision * interval '1 millisecond') ` +
      `ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at ` +
      `WHERE l.expires_at <= clock_timestamp() RETURNING owner`;
    this.#release =
      `WITH gone AS (DELETE FROM ${lockTable} WHERE name = $1 AND owner = $2 RETURNING name) ` +
      `SELECT pg_notify($3, name) FROM gone`;
  }

  async acquire(name: string, options: LockOptions): Promise<LockHandle | null> {
    return await pollLock(
      {
        maxNameLength: MAX_NAME_LENGTH,
        tryTake: (lockName, owner, leaseMs) => this.#tryTake(lockName, owner, leaseMs),
        release: async (lockName, owner) =>
          void (await this.#run(this.#release, [lockName, owner, this.#channel], [lockName])),
        waiter: this.#waiter,
      },
      name,
      options,
    );
  }

  async #tryTake(name: string, owner: string, leaseMs: number): Promise<boolean> {
    try {
      return (await this.#run(this.#take, [name, owner, leaseMs], [name])).rowCount === 1;
    } catch (error) {
      // The upsert may have committed before the connection broke: give it back, best effort
      // (otherwise the lease frees it).
      await this.#run(this.#release, [name, owner, this.#channel], [name]).catch(() => {});
      throw error;
    }
  }
}
