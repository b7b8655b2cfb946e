import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ErrorCode,
  FileStore,
  MemoryStore,
  OAuthToken,
  SqliteStore,
  withEncryption,
  type TokenStore,
} from 'zoho-token-store';
import { MySqlStore } from 'zoho-token-store/mysql';
import { PostgresStore } from 'zoho-token-store/postgres';
import { RedisStore } from 'zoho-token-store/redis';
import { HOUR, authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { MARIADB, POSTGRES, REDIS, skipUnlessReachable } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';

const dir = tempDir('async-dispose');
const tag = `d${process.pid}`;

/** Uses the store inside an `await using` scope, then checks the scope's end closed it. */
async function disposedAtScopeEnd(open: () => TokenStore & AsyncDisposable): Promise<void> {
  let escaped: TokenStore;
  {
    await using store = open();
    escaped = store;
    const token = new OAuthToken({
      clientId: '1000.D',
      clientSecret: 's',
      userSignature: `${tag}@example.com`,
      refreshToken: `1000.r.${tag}`,
    });
    await store.saveToken(token);
    assert.equal((await store.findTokenById(token.id!))?.refreshToken, `1000.r.${tag}`);
    await store.deleteToken(token.id!);
  }
  await assert.rejects(escaped.getTokens(), { code: ErrorCode.STORE_CLOSED });
}

describe('await using: every store is closed when its scope ends', () => {
  it('MemoryStore, SqliteStore, FileStore, EncryptedStore', async () => {
    await disposedAtScopeEnd(() => new MemoryStore());
    await disposedAtScopeEnd(() => new SqliteStore({ filename: join(dir, 'a.db') }));
    await disposedAtScopeEnd(() => new FileStore({ filename: join(dir, 'a.csv') }));
    await disposedAtScopeEnd(() =>
      withEncryption(new MemoryStore(), { keys: { k1: Buffer.alloc(32, 7) }, currentKeyId: 'k1' }),
    );
  });

  it('PostgresStore, MySqlStore, RedisStore', async (t) => {
    if (!(await skipUnlessReachable(POSTGRES)))
      await disposedAtScopeEnd(
        () =>
          new PostgresStore({ url: 'postgres://postgres@127.0.0.1:5432/test', table: `zts_dispose_${process.pid}` }),
      );
    else t.diagnostic('PostgreSQL not reachable');
    if (!(await skipUnlessReachable(MARIADB)))
      await disposedAtScopeEnd(
        () => new MySqlStore({ url: 'mysql://root@127.0.0.1:3306/test', table: `zts_dispose_${process.pid}` }),
      );
    else t.diagnostic('MariaDB not reachable');
    if (!(await skipUnlessReachable(REDIS)))
      await disposedAtScopeEnd(
        () => new RedisStore({ url: 'redis://127.0.0.1:6379/9', prefix: `zts-dispose-${process.pid}:` }),
      );
    else t.diagnostic('Redis not reachable');
  });
});

describe('await using: ZohoAuth', () => {
  const emuPromise = emulator();
  after(async () => (await emuPromise).close());

  it('waits for the refresh running in it, saved, then forgets its cached access tokens; the store stays open', async () => {
    const emu = await emuPromise;
    const store = sqliteStore();
    const user = 'dispose@example.com';
    let settled = false;
    let refreshed: Promise<string>;
    {
      await using auth = authFor(emu, store);
      const before = await login(emu, auth, user);
      emu.clock.advance(HOUR);
      emu.faults.inject({ target: 'token', kind: 'latency', ms: 300, times: 1 });
      refreshed = auth.getAccessToken({ user });
      void refreshed.then(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(settled, false, 'the refresh is still running when the scope ends');
      assert.notEqual((await store.findToken(new OAuthToken({ userSignature: user })))?.accessToken, undefined);
      void before;
    }
    // Read before awaiting the caller's promise: without the wait, the 300 ms refresh would still run.
    const stored = await store.findToken(new OAuthToken({ userSignature: user }));
    assert.equal(stored?.accessToken, await refreshed, 'the refreshed token was saved before dispose resolved');
    await store.close();
  });
});
