import { LOCK_ACQUIRE, LOCK_RELEASE, type ScriptClient } from './redis-scripts.js';
import { pollLock } from '../kit/store-lock.js';
import type { LockHandle, LockOptions, StoreLock } from '../kit/token-store.js';

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
    const key = (lockName: string): string => this.#keyPrefix + lockName;
    return await pollLock(
      {
        maxNameLength: MAX_NAME_LENGTH,
        tryTake: async (lockName, owner, leaseMs) =>
          (await this.#run('cannot take a lock', (client) =>
            LOCK_ACQUIRE.run(client, [key(lockName)], [owner, Math.ceil(leaseMs)]),
          )) === 1,
        release: (lockName, owner) =>
          this.#run(
            'cannot release a lock',
            async (client) => void (await LOCK_RELEASE.run(client, [key(lockName)], [owner])),
          ),
      },
      name,
      options,
    );
  }
}
