import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkLockArguments, type LockHandle, type LockOptions, type StoreLock } from '../kit/token-store.js';

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
 * Releasing deletes the row only if this owner still holds it.
 */
export class PostgresLock implements StoreLock {
  readonly #run: PostgresRun;
  readonly #take: string;
  readonly #release: string;

  constructor(lockTable: string, run: PostgresRun) {
    this.#run = run;
    this.#take =
      `INSERT INTO ${lockTable} AS l (name, owner, expires_at) ` +
      `VALUES ($1, $2, clock_timestamp() + $3::double precision * interval '1 millisecond') ` +
      `ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at ` +
      `WHERE l.expires_at <= clock_timestamp() RETURNING owner`;
    this.#release = `DELETE FROM ${lockTable} WHERE name = $1 AND owner = $2`;
  }

  async acquire(name: string, options: LockOptions): Promise<LockHandle | null> {
    checkLockArguments(name, options, MAX_NAME_LENGTH);
    const { leaseMs, waitMs } = options;
    const owner = randomUUID();
    const deadline = Date.now() + waitMs;
    for (let attempt = 0; ; attempt++) {
      if (await this.#tryTake(name, owner, leaseMs)) return this.#handle(name, owner);
      const left = deadline - Date.now();
      if (left <= 0) return null;
      // Growing, jittered pauses: a short first one serves waiters quickly, and they do not poll
      // the server in lockstep during a long hold.
      await sleep(Math.min(left, 2 + Math.random() * Math.min(200, 5 * 2 ** attempt)));
    }
  }

  async #tryTake(name: string, owner: string, leaseMs: number): Promise<boolean> {
    try {
      return (await this.#run(this.#take, [name, owner, leaseMs], [name])).rowCount === 1;
    } catch (error) {
      // The upsert may have committed before the connection broke: give it back, best effort
      // (otherwise the lease frees it).
      await this.#run(this.#release, [name, owner], [name]).catch(() => {});
      throw error;
    }
  }

  #handle(name: string, owner: string): LockHandle {
    let released = false;
    return {
      release: async () => {
        if (released) return;
        await this.#run(this.#release, [name, owner], [name]);
        released = true;
      },
    };
  }
}
