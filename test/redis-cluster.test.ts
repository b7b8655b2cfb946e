// Issue 16 item 1: RedisStore on a real Redis Cluster (3 masters + 3 replicas started by the
// harness on free loopback ports, never the shared Redis on 6379): the conformance kit, the lock
// kit, the key layout and the URL form. The fleet test (test/fleet.test.ts) adds a failover.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { Cluster } from 'ioredis';
import { ErrorCode, OAuthToken, isZohoTokenError, openStore } from 'zoho-token-store';
import { RedisStore } from 'zoho-token-store/redis';
import { describeStoreLock, describeTokenStore } from 'zoho-token-store/testing';
import { inspectRedisLocks } from '../src/stores/redis/redis-inspect.js';
import { cli, skipUnlessRedisServer, startRedisCluster, type RedisCluster } from './helpers/redis-cluster.js';

const BASE = `zts-cluster:${process.pid}:`;
let n = 0;
const freshPrefix = (): string => `${BASE}${++n}:`;

/** Every key of the cluster under `pattern`, from each master (SCAN sees one node only). */
async function keysOnMasters(cluster: Cluster, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of cluster.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
  return found.sort();
}

describe('RedisStore on a Redis Cluster', { skip: skipUnlessRedisServer() }, () => {
  let cluster: RedisCluster;
  let admin: Cluster;
  const seeds = (): { host: string; port: number }[] => cluster.ports.map((port) => ({ host: '127.0.0.1', port }));

  before(async () => {
    cluster = await startRedisCluster();
    admin = new Cluster(seeds());
  });
  after(async () => {
    await admin?.quit();
    await cluster?.close();
  });

  describeTokenStore(
    { describe, it },
    {
      name: 'RedisStore (redis+cluster:// url)',
      create: () => new RedisStore({ url: cluster.url, prefix: freshPrefix() }),
      reopen: (store) => new RedisStore({ url: cluster.url, prefix: (store as RedisStore).prefix }),
      injected: () => {
        const mine = new Cluster(seeds());
        return {
          store: new RedisStore({ client: mine, prefix: freshPrefix() }),
          stillOpen: async () => assert.equal(await mine.set(`${BASE}probe`, '1'), 'OK'),
          dispose: () => mine.quit(),
        };
      },
    },
  );

  describeStoreLock(
    { describe, it },
    {
      name: 'RedisStore on a Cluster (two clients, one prefix)',
      createPair: async () => {
        const prefix = freshPrefix();
        return [new RedisStore({ url: cluster.url, prefix }), new RedisStore({ url: cluster.url, prefix })];
      },
    },
  );

  describe('Cluster specifics', () => {
    it('every key of a store starts with the {prefix} hash tag, so all sit in one slot', async () => {
      const prefix = freshPrefix();
      const store = new RedisStore({ url: cluster.url, prefix });
      assert.equal(store.keyPrefix, `{${prefix}}`);
      for (let i = 0; i < 3; i++) {
        await store.saveToken(
          new OAuthToken({
            userSignature: `user-${i}@example.com`,
            clientId: 'cid',
            clientSecret: 'csecret',
            refreshToken: `r-${i}`,
            accessToken: `a-${i}`,
            grantToken: `g-${i}`,
            expiresAt: 1,
          }),
        );
      }
      const handle = await store.lock.acquire('refresh:1', { leaseMs: 5000, waitMs: 0 });
      // What `zoho-tokens doctor` reports: the lock, found on the master of the store's slot.
      assert.deepEqual(await inspectRedisLocks(store.client, store.keyPrefix), { locks: 1, expiredLocks: [] });
      const keys = await keysOnMasters(admin, `{${prefix}}*`);
      // 3 tokens × (hash + 4 index keys) + ids, last-id, revision and the lock.
      assert.equal(keys.length, 19);
      const slots = new Set(
        await Promise.all(keys.map(async (key) => (await cli(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', key)).trim())),
      );
      assert.equal(slots.size, 1, 'one slot');
      assert.equal([...slots][0], (await cli(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', `{${prefix}}`)).trim());
      assert.deepEqual(await keysOnMasters(admin, `${prefix}*`), [], 'no key without the tag');
      await handle?.release();
      await store.deleteTokens();
      assert.deepEqual(await keysOnMasters(admin, `{${prefix}}*`), [`{${prefix}}last-id`, `{${prefix}}revision`]);
      await store.close();
    });

    it('stores of different prefixes spread over the masters', async () => {
      const owners = new Set<number>();
      // Fixed names (nothing is written): the slots, hence the masters, are the same on every run.
      for (let i = 0; i < 12; i++) owners.add(await cluster.masterOf(`{tenant-${i}:}`));
      assert.equal(owners.size, 3, 'twelve prefixes land on all three masters');
    });

    it('openStore takes redis+cluster:// with ?prefix= and ?timeoutMs=', async () => {
      const prefix = freshPrefix();
      const store = await openStore(`${cluster.url}/?prefix=${encodeURIComponent(prefix)}&timeoutMs=4000`);
      assert.ok(store instanceof RedisStore);
      assert.equal(store.prefix, prefix);
      assert.equal(store.timeoutMs, 4000);
      const token = new OAuthToken({ clientId: 'c', clientSecret: 's', refreshToken: 'r', expiresAt: 1 });
      await store.saveToken(token);
      assert.equal((await store.findTokenById(token.id!))?.refreshToken, 'r');
      await store.deleteTokens();
      await store.close();
    });

    it('the client made from the URL and the store show no password', async () => {
      const store = new RedisStore({ url: cluster.url.replace('//', '//app:s3cret-pw@'), prefix: freshPrefix() });
      const shown = [
        inspect(store, { depth: 10 }),
        inspect(store.client, { depth: 10 }),
        JSON.stringify(store),
        JSON.stringify(store.client),
        inspect((store.client as unknown as { options: unknown }).options, { depth: 10 }),
      ].join('\n');
      assert.ok(!shown.includes('s3cret-pw'), shown);
      assert.match(inspect(store.client), /^Cluster \{ cluster .*password hidden \}$/);
      await store.close();
    });

    it('a prefix with a brace is refused on a Cluster (it would end the hash tag early)', async () => {
      for (const create of [
        () => new RedisStore({ url: cluster.url, prefix: 'a}b:' }),
        () => new RedisStore({ client: admin, prefix: '{x}:' }),
      ]) {
        assert.throws(
          create,
          (error) => isZohoTokenError(error, ErrorCode.INVALID_ARGUMENT) && error.field === 'prefix',
        );
      }
      // A standalone store keeps taking it: its layout is unchanged.
      const standalone = new RedisStore({ url: 'redis://127.0.0.1:1', prefix: 'a}b:' });
      assert.equal(standalone.keyPrefix, 'a}b:');
      await standalone.close();
    });
  });
});
