import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ErrorCode, MemoryStore, OAuthToken, SqliteStore, ZohoTokenError, openStore } from 'zoho-token-store';
import { tempDir } from './helpers/temp.js';

const dir = tempDir('open-store');

describe('openStore', () => {
  it('opens memory: and sqlite URLs into the right stores', async () => {
    const memory = await openStore('memory:');
    assert.ok(memory instanceof MemoryStore);
    const inMemory = await openStore('sqlite::memory:');
    assert.ok(inMemory instanceof SqliteStore);
    assert.equal(inMemory.filename, ':memory:');
    const file = await openStore(`sqlite:${dir}/a b.db`);
    assert.ok(file instanceof SqliteStore);
    assert.equal(file.filename, `${dir}/a b.db`);
    assert.ok(existsSync(`${dir}/a b.db`));
    const triple = await openStore(`sqlite://${dir}/c%20d.db`);
    assert.equal((triple as SqliteStore).filename, `${dir}/c d.db`);
    for (const store of [memory, inMemory, file, triple]) {
      const token = new OAuthToken({ clientId: 'c', clientSecret: 's', refreshToken: 'r', accessToken: 'a' });
      await store.saveToken(token);
      assert.equal((await store.findTokenById(token.id!))?.refreshToken, 'r');
      await store.close();
    }
  });

  it('refuses unknown schemes with the list of known ones, without echoing the URL', async () => {
    for (const url of ['mongodb://user:hunter2@host/db', 'nothing', '', 'sqlite:', 'memory:extra', 'sqlite://host/db']) {
      await assert.rejects(openStore(url), (error: unknown) => {
        assert.ok(error instanceof ZohoTokenError);
        assert.equal(error.code, ErrorCode.INVALID_STORE_URL);
        assert.ok(!error.message.includes('hunter2'));
        return true;
      }, url);
    }
    await assert.rejects(openStore('mongodb://x'), /known: memory:, sqlite:, postgres:, postgresql:, redis:, rediss:/);
    await assert.rejects(openStore(42 as unknown as string), { code: ErrorCode.INVALID_STORE_URL });
  });
});
