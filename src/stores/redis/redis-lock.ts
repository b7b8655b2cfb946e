import { LOCK_ACQUIRE, LuaScript, type ScriptClient } from './redis-scripts.js';
import type { LockWaiter } from '../kit/lock-waiter.js';
import { pollLock } from '../kit/store-lock.js';
import type { LockHandle, LockOptions, StoreLock } from '../kit/token-store.js';

/** How RedisLock reaches Redis: through the store, so it shares its closed check and error mapping. */
export type RedisRunner = <T>(what: string, operation: (client: ScriptClient) => Promise<T>) => Promise<T>;

const MAX_NAME_LENGTH = 1024;

/**
 * Deletes the lock key while it holds this owner, and then publishes the lock's name on the release
 * channel, atomically: a waiter that hears it finds the key gone.
 */
const LOCK_RELEASE_NOTIFY = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
`);

/**
 * Leased locks as Redis keys: `SET <prefix>lock:<name> <owner> NX PX <leaseMs>` (as a script), so
 * Redis itself expires a crashed holder's lock. Releasing deletes the key only while it still holds
 * this owner's random id, and publishes the name on `channel`, which wakes the waiters of every
 * process at once. Every process that shares the server and the prefix agrees.
 */
export class RedisLock implements StoreLock {
  readonly #run: RedisRunner;
  readonly #keyPrefix: string;
  readonly #channel: string;
  readonly #waiter: LockWaiter;

  /** @param keyPrefix the store's prefix followed by `lock:` */
  constructor(run: RedisRunner, keyPrefix: string, channel: string, waiter: LockWaiter) {
    this.#run = run;
    this.#keyPrefix = keyPrefix;
    this.#channel = channel;
    this.#waiter = waiter;
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
            async (client) =>
              void (await LOCK_RELEASE_NOTIFY.run(client, [key(lockName)], [owner, this.#channel, lockName])),
          ),
        waiter: this.#waiter,
      },
      name,
      options,
    );
  }
}
