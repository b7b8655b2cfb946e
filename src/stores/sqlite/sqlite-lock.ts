import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { checkLockArguments, type LockHandle, type LockOptions, type StoreLock } from '../kit/token-store.js';

/**
 * Leased locks in a side table of the token database: taking one is an insert that only succeeds
 * when no unexpired row holds the name, inside an IMMEDIATE transaction, so every process sharing
 * the file agrees. Releasing deletes the row only if this owner still holds it.
 */
export class SqliteLock implements StoreLock {
  readonly #tryTake: (name: string, owner: string, now: number, leaseMs: number) => boolean;
  readonly #release: BetterSqlite3.Statement<[string, string]>;
  readonly #assertOpen: () => void;

  constructor(db: BetterSqlite3.Database, table: string, assertOpen: () => void) {
    const locks = `"${table}_lock"`;
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${locks} (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
    );
    const purge = db.prepare<[string, number]>(`DELETE FROM ${locks} WHERE name = ? AND expires_at <= ?`);
    const insert = db.prepare<[string, string, number]>(
      `INSERT INTO ${locks} (name, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
    );
    this.#tryTake = db.transaction((name: string, owner: string, now: number, leaseMs: number) => {
      purge.run(name, now);
      return insert.run(name, owner, now + leaseMs).changes === 1;
    }).immediate;
    this.#release = db.prepare(`DELETE FROM ${locks} WHERE name = ? AND owner = ?`);
    this.#assertOpen = assertOpen;
  }

  async acquire(name: string, options: LockOptions): Promise<LockHandle | null> {
    this.#assertOpen();
    checkLockArguments(name, options);
    const owner = randomUUID();
    const deadline = Date.now() + options.waitMs;
    for (let attempt = 0; ; attempt++) {
      if (this.#take(name, owner, options.leaseMs)) {
        return {
          release: async () => {
            this.#assertOpen();
            this.#release.run(name, owner);
          },
        };
      }
      const left = deadline - Date.now();
      if (left <= 0) return null;
      // Poll with growing, jittered pauses: waiters re-read the store right after, so a short first
      // pause serves them quickly while a long refresh does not keep the file busy.
      await sleep(Math.min(left, Math.random() * Math.min(100, 5 * 2 ** attempt)));
    }
  }

  #take(name: string, owner: string, leaseMs: number): boolean {
    try {
      return this.#tryTake(name, owner, Date.now(), leaseMs);
    } catch (error) {
      // Another process holding the write lock past the busy timeout is just contention.
      if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return false;
      throw error;
    }
  }
}
