import type { LockInspection } from '../kit/store-inspection.js';
import type { RedisClientLike } from './redis-store.js';

/** `prefix` as a SCAN pattern that matches only itself (`*`, `?`, `[`, `]` and `\` escaped). */
const literal = (prefix: string): string => prefix.replace(/[*?[\]\\]/g, '\\$&');

/** An ioredis Cluster's masters: SCAN sees the keys of one node only. */
interface ClusterNodes {
  nodes(role: 'master'): RedisClientLike[];
}

/**
 * The lock keys of a Redis store (`<keyPrefix>lock:<name>`, with the store's `keyPrefix`: `{prefix}`
 * on a Cluster), read with SCAN (on every master of a Cluster) and PTTL, changing nothing. Redis
 * expires a lock at the end of its lease itself, so the only stale lock is a key without an expiry
 * (written by hand, or by a `PERSIST`): it would be held for ever.
 */
export async function inspectRedisLocks(client: RedisClientLike, keyPrefix: string): Promise<LockInspection> {
  const lockPrefix = `${keyPrefix}lock:`;
  const keys: string[] = [];
  const nodes =
    client.isCluster === true && typeof (client as Partial<ClusterNodes>).nodes === 'function'
      ? (client as unknown as ClusterNodes).nodes('master')
      : [client];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = (await node.call('SCAN', [cursor, 'MATCH', `${literal(lockPrefix)}*`, 'COUNT', 1000])) as [
        string,
        string[],
      ];
      cursor = String(next);
      keys.push(...batch.map(String));
    } while (cursor !== '0');
  }
  const unleased: string[] = [];
  for (const key of new Set(keys)) {
    if (Number(await client.call('PTTL', [key])) === -1) unleased.push(key.slice(lockPrefix.length));
  }
  return {
    locks: new Set(keys).size,
    expiredLocks: unleased.map((name) => ({ name, expiredForMs: null })),
  };
}
