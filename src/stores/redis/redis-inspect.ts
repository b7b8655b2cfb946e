import type { LockInspection } from '../kit/store-inspection.js';
import type { RedisClientLike } from './redis-store.js';

/** `prefix` as a SCAN pattern that matches only itself (`*`, `?`, `[`, `]` and `\` escaped). */
const literal = (prefix: string): string => prefix.replace(/[*?[\]\\]/g, '\\$&');

/**
 * The lock keys of a Redis store (`<prefix>lock:<name>`), read with SCAN and PTTL, changing
 * nothing. Redis expires a lock at the end of its lease itself, so the only stale lock is a key
 * without an expiry (written by hand, or by a `PERSIST`): it would be held for ever.
 */
export async function inspectRedisLocks(client: RedisClientLike, prefix: string): Promise<LockInspection> {
  const lockPrefix = `${prefix}lock:`;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = (await client.call('SCAN', [cursor, 'MATCH', `${literal(lockPrefix)}*`, 'COUNT', 1000])) as [
      string,
      string[],
    ];
    cursor = String(next);
    keys.push(...batch.map(String));
  } while (cursor !== '0');
  const unleased: string[] = [];
  for (const key of new Set(keys)) {
    if (Number(await client.call('PTTL', [key])) === -1) unleased.push(key.slice(lockPrefix.length));
  }
  return {
    locks: new Set(keys).size,
    expiredLocks: unleased.map((name) => ({ name, expiredForMs: null })),
  };
}
