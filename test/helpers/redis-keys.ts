import { Redis } from 'ioredis';

/** Every key under `prefix`, by SCAN (fine in tests; the store itself never scans). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/** Deletes every key under `prefix`; with a URL, on a connection of its own. */
export async function deleteKeysUnder(target: Redis | string, prefix: string): Promise<void> {
  const client = typeof target === 'string' ? new Redis(target) : target;
  try {
    const keys = await keysUnder(client, prefix);
    if (keys.length > 0) await client.del(...keys);
  } finally {
    if (typeof target === 'string') await client.quit();
  }
}
