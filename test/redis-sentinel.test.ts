// Issue 16 item 2: RedisStore through Redis Sentinel (1 master + 1 replica + 3 Sentinels started by
// the harness on free loopback ports, never the shared Redis on 6379): the conformance kit, the
// lock kit and the URL form. The fleet test (test/fleet.test.ts) adds a failover.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { OAuthToken, openStore } from 'zoho-token-store';
import { RedisStore } from 'zoho-token-store/redis';
import { describeStoreLock, describeTokenStore } from 'zoho-token-store/testing';
import { skipUnlessRedisServer, startRedisSentinel, type RedisSentinel } from './helpers/redis-cluster.js';

const BASE = `zts-sentinel:${process.pid}:`;
let n = 0;
const freshPrefix = (): string => `${BASE}${++n}:`;

describe('RedisStore through Redis Sentinel', { skip: skipUnlessRedisServer() }, () => {
  let sentinel: RedisSentinel;
  const sentinelClient = (): Redis =>
    new Redis({
      sentinels: sentinel.sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
      name: sentinel.masterName,
    });

  before(async () => {
    sentinel = await startRedisSentinel();
  });
  after(() => sentinel?.close());

  describeTokenStore(
    { describe, it },
    {
      name: 'RedisStore (redis+sentinel:// url)',
      create: () => new RedisStore({ url: sentinel.url, prefix: freshPrefix() }),
      reopen: (store) => new RedisStore({ url: sentinel.url, prefix: (store as RedisStore).prefix }),
      injected: () => {
        const mine = sentinelClient();
        return {
          store: new RedisStore({ client: mine, prefix: freshPrefix() }),
          stillOpen: async () => assert.equal(await mine.ping(), 'PONG'),
          dispose: () => mine.quit(),
        };
      },
    },
  );

  describeStoreLock(
    { describe, it },
    {
      name: 'RedisStore through Sentinel (two clients, one prefix)',
      createPair: async () => {
        const prefix = freshPrefix();
        return [new RedisStore({ url: sentinel.url, prefix }), new RedisStore({ url: sentinel.url, prefix })];
      },
    },
  );

  describe('Sentinel specifics', () => {
    it('keeps the standalone key layout (no hash tag) and writes to the master', async () => {
      const prefix = freshPrefix();
      const store = await openStore(`${sentinel.url}/3?prefix=${encodeURIComponent(prefix)}`);
      assert.ok(store instanceof RedisStore);
      assert.equal(store.keyPrefix, prefix);
      const token = new OAuthToken({ clientId: 'c', clientSecret: 's', refreshToken: 'r', expiresAt: 1 });
      await store.saveToken(token);
      const master = new Redis({ host: '127.0.0.1', port: await sentinel.master(), db: 3 });
      assert.equal(await master.hget(`${prefix}token:${token.id}`, 'refresh_token'), 'r');
      await master.quit();
      await store.deleteTokens();
      await store.close();
    });

    it('the client made from the URL and the store show no password', async () => {
      const store = new RedisStore({
        url: `${sentinel.url.replace('//', '//:s3cret-pw@')}?sentinelPassword=s3ntinel-pw`,
        prefix: freshPrefix(),
      });
      const shown = [
        inspect(store, { depth: 10 }),
        inspect(store.client, { depth: 10 }),
        JSON.stringify(store),
        JSON.stringify(store.client),
        inspect((store.client as unknown as { options: unknown }).options, { depth: 10 }),
      ].join('\n');
      assert.ok(!shown.includes('s3cret-pw') && !shown.includes('s3ntinel-pw'), shown);
      assert.match(inspect(store.client), /^Redis \{ sentinel master zts-master\/0 .*password hidden \}$/);
      await store.close();
    });
  });
});
