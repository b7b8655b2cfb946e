// What a store (and what it exposes) shows when logged: util.inspect, JSON and String must never
// reveal the password of the URL it was opened with, before or after it tried to connect.
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import type { TokenStore } from 'zoho-token-store';
import { MARIADB, POSTGRES, REDIS, skipUnlessReachable } from './helpers/services.js';

const PASSWORD = 'secretpw-8f3e1c';
const skip = {
  redis: await skipUnlessReachable(REDIS),
  postgres: await skipUnlessReachable(POSTGRES),
  mysql: await skipUnlessReachable(MARIADB),
};

/** Every way a value ends up in a log line; JSON may refuse (circular), which shows nothing. */
function renderings(value: unknown, raw: boolean): string[] {
  const texts = [
    String(value),
    inspect(value, { depth: Infinity }),
    inspect(value, { depth: Infinity, showHidden: true }),
    inspect({ nested: [value] }, { depth: Infinity }),
  ];
  // Without custom inspectors: what a store holds must not lead to the password either (the
  // client itself cannot pass this: ioredis needs its password in its options).
  if (raw) texts.push(inspect(value, { depth: Infinity, showHidden: true, customInspect: false }));
  try {
    texts.push(JSON.stringify(value) ?? '');
  } catch (error) {
    texts.push(String(error));
  }
  return texts;
}

function assertNoPassword(what: string, value: unknown, raw = true): void {
  for (const text of renderings(value, raw))
    assert.ok(!text.includes(PASSWORD), `${what} shows the password:\n${text.slice(0, 2000)}`);
}

/** Uses the store once (the password was then sent to the server), ignoring whether that worked. */
async function touch(store: TokenStore): Promise<void> {
  try {
    await store.getTokens();
  } catch (error) {
    assert.ok(!String((error as Error).message).includes(PASSWORD));
    assert.ok(!String((error as Error).cause).includes(PASSWORD));
  }
}

describe('stores opened from a URL with a password show no password', () => {
  it('RedisStore, its client and the client options', { skip: skip.redis }, async () => {
    const { RedisStore } = await import('zoho-token-store/redis');
    // The shared Redis has no password: AUTH fails (or is ignored); what matters is what is shown.
    const store = new RedisStore({
      url: `redis://:${PASSWORD}@127.0.0.1:6379/9`,
      prefix: `zts-inspect-${process.pid}:`,
    });
    try {
      const client = store.client as unknown as { options: object };
      for (const round of ['before use', 'after use']) {
        if (round === 'after use') await touch(store);
        assertNoPassword(`store.client (${round})`, store.client, false);
        assertNoPassword(`store.client.options (${round})`, client.options, false);
        assertNoPassword(`the store (${round})`, store);
      }
      // Still the real client, and it still has the password to (re)connect with.
      assert.equal((client.options as { password?: string }).password, PASSWORD);
      assert.match(inspect(store.client), /^Redis \{.*127\.0\.0\.1:6379/);
    } finally {
      await store.close();
    }
  });

  // Their pools are private fields; what matters is that nothing reachable shows the password.
  const sqlStores = [
    {
      name: 'PostgresStore',
      skip: skip.postgres,
      open: async () =>
        new (await import('zoho-token-store/postgres')).PostgresStore({
          url: `postgres://postgres:${PASSWORD}@127.0.0.1:5432/test`,
          table: `zts_inspect_${process.pid}`,
          createTable: false,
        }),
    },
    {
      name: 'MySqlStore',
      skip: skip.mysql,
      open: async () =>
        new (await import('zoho-token-store/mysql')).MySqlStore({
          url: `mysql://root:${PASSWORD}@127.0.0.1:3306/test`,
          table: `zts_inspect_${process.pid}`,
          createTable: false,
        }),
    },
  ];
  for (const { name, skip: skipped, open } of sqlStores) {
    it(name, { skip: skipped }, async () => {
      const store = await open();
      try {
        assertNoPassword('the store (before use)', store);
        await touch(store);
        assertNoPassword('the store (after use)', store);
      } finally {
        await store.close();
      }
    });
  }
});
