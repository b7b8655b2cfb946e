// The lock-release feed's subscriber connection when it is lost: the feed ends (the waiters poll
// and the next wait opens another) instead of ioredis resubscribing by itself, whose unhandled
// SUBSCRIBE crashes the process when that connection closes again before the reply.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisReleaseFeed } from '../src/stores/redis/redis-notify.js';
import { REDIS, skipUnlessReachable } from './helpers/services.js';

/** Our own pub/sub connections on the shared server, by their client name (no other client's). */
async function ourSubscribers(admin: Redis, name: string): Promise<string[]> {
  const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /\bid=(\d+)/.exec(line)![1]!);
}

describe('RedisReleaseFeed', { skip: await skipUnlessReachable(REDIS) }, () => {
  const name = `zts-feed-${randomUUID().slice(0, 8)}`;
  const client = new Redis({ host: REDIS.host, port: REDIS.port, connectionName: name });
  const admin = new Redis({ host: REDIS.host, port: REDIS.port });
  after(() => {
    client.disconnect();
    admin.disconnect();
  });

  it(
    'a lost subscriber connection ends the subscription (reported lost), and nothing resubscribes',
    { timeout: 10_000 },
    async () => {
      const channel = `${name}:lock-released`;
      const released: string[] = [];
      let lost!: () => void;
      const lostNow = new Promise<void>((resolve) => (lost = resolve));
      const feed = new RedisReleaseFeed(channel, client);
      const subscription = await feed.start((lock) => released.push(lock), lost);
      try {
        await client.publish(channel, 'refresh:1');
        for (let i = 0; i < 1000 && released.length === 0; i++) await new Promise((r) => setTimeout(r, 2));
        assert.deepEqual(released, ['refresh:1'], 'delivers while connected');

        const [id] = await ourSubscribers(admin, name);
        assert.ok(id !== undefined, 'the feed has its own subscriber connection');
        await admin.call('CLIENT', 'KILL', 'ID', id);
        await lostNow; // without it, this test waits here until its time limit fails it
        // No reconnect-and-resubscribe behind our back: the connection stays gone.
        await new Promise((r) => setTimeout(r, 300));
        assert.deepEqual(await ourSubscribers(admin, name), []);
      } finally {
        await subscription.stop();
      }
    },
  );
});
