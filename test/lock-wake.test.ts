import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHANNELS, OAuthToken } from 'zoho-token-store';
import { HOUR, authFor, dbFile, emulator, login, sqliteStore } from './fixtures/auth-setup.js';

const emu = await emulator();
after(() => emu.close());

describe('waiting for the refresh of another process', () => {
  it('a waiter woken by the release is served the saved token, without the lock and without calling Zoho', async () => {
    const outcomes: string[] = [];
    const listener = (message: unknown): void => void outcomes.push((message as { outcome: string }).outcome);
    subscribe(CHANNELS.lockWait, listener);
    try {
      const file = dbFile('wake');
      // Two stores over one file: the holder plays another process refreshing the token.
      const holder = sqliteStore(file);
      const auth = authFor(emu, sqliteStore(file));
      const user = 'woken@example.com';
      const token = await login(emu, auth, user);
      emu.clock.advance(HOUR);
      const held = await holder.lock!.acquire(`refresh:${token.id!}`, { leaseMs: 60_000, waitMs: 0 });
      assert.ok(held);
      outcomes.length = 0;
      const before = emu.stats().refreshRequests;
      const waiting = auth.getAccessToken({ user });
      await sleep(100);
      // The other process's refresh lands: its new token is saved, then the lock released.
      await holder.saveToken(
        new OAuthToken({ id: token.id!, accessToken: '1000.landed-elsewhere', expiresAt: emu.clock.now() + HOUR }),
      );
      await held.release();
      assert.equal(await waiting, '1000.landed-elsewhere');
      assert.equal(emu.stats().refreshRequests - before, 0, 'no refresh request of its own');
      assert.deepEqual(outcomes, ['done-elsewhere']);
      // The lock is free: the waiter never took it (or gave it back).
      const again = await holder.lock!.acquire(`refresh:${token.id!}`, { leaseMs: 60_000, waitMs: 0 });
      assert.ok(again);
      await again.release();
    } finally {
      unsubscribe(CHANNELS.lockWait, listener);
    }
  });
});
