import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_ACQUIRE, LOCK_RELEASE, type ScriptClient } from './redis-scripts.js';
import { checkLockArguments, type LockHandle, type LockOptions, type StoreLock } from '../kit/token-store.js';

/** How RedisLock reaches Redis: through the store, so it shares its closed check and error mapping. */
export type RedisRunner = <T>(what: string, operation: (client: ScriptClient) => Promise<T>) => Promise<T>;

const MAX_NAME_LENGTH = 1024;

/**
 * Leased locks as Redis keys: `SET <prefix>lock:<name> <owner> NX PX <leaseMs>` (as a script), so
 * Redis itself expires a crashed holder's lock. Releasing deletes the key only while it still holds
 * this owner's random id. Every process that shares the server and the prefix agrees.
 */
export class RedisLock implements StoreLock {
  readonly #run: RedisRunner;
  readonly #keyPrefix: string;

  /** @param keyPrefix the store's prefix followed by `lock:` */
  constructor(run: RedisRunner, keyPrefix: string) {
    this.#run = run;
    this.#keyPrefix = keyPrefix;
  }

  async acquire(name: string, options: LockOptions): Promise<LockHandle | null> {
    checkLockArguments(name, options, MAX_NAME_LENGTH);
    const { leaseMs, waitMs } = options;
    const key = this.#keyPrefix + name;
    const owner = randomUUID();
    const lease = Math.ceil(leaseMs);
    const deadline = Date.now() + waitMs;
    for (let attempt = 0; ; attempt++) {
      const taken = await this.#run('cannot take a lock', (client) => LOCK_ACQUIRE.run(client, [key], [owner, lease]));
      if (taken === 1) {
        return {
          release: () =>
            this.#run('cannot release a lock', async (client) => void (await LOCK_RELEASE.run(client, [key], [owner]))),
        };
      }
      const left = deadline - Date.now();
      if (left <= 0) return null;
      // Growing, jittered pauses: a waiter is served quickly after a short refresh, and many
      // waiters do not poll the server in lockstep during a long one.
      await sleep(Math.min(left, Math.random() * Math.min(100, 5 * 2 ** attempt)));
    }
  }
}
