import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, describe, it } from 'node:test';
import { CHANNELS, ErrorCode, ZohoClient } from 'zoho-token-store';
import { CLIENT, HOUR, authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';

const emu = await emulator();
after(() => emu.close());

describe('node:diagnostics_channel', () => {
  it('a ZohoClient call publishes one cache event per call: a miss on a cold cache, then hits', async () => {
    const hits: boolean[] = [];
    const listener = (message: unknown): void => void hits.push((message as { hit: boolean }).hit);
    const store = sqliteStore();
    const user = 'client-cache@example.com';
    await login(emu, authFor(emu, store), user);
    const auth = authFor(emu, store); // another process: its cache is cold
    const client = new ZohoClient({ auth });
    subscribe(CHANNELS.cache, listener);
    try {
      await client.get('/crm/v8/org', { user });
      await client.get('/crm/v8/org', { user });
      await client.get('/crm/v8/org', { user, signal: new AbortController().signal });
    } finally {
      unsubscribe(CHANNELS.cache, listener);
    }
    assert.deepEqual(hits, [false, true, true]);
  });

  it('publishes cache hits and misses, refresh start/end/error and lock waits, without a secret', async () => {
    const messages: [string, Record<string, unknown>][] = [];
    const listeners = Object.entries(CHANNELS).map(([key, name]) => {
      const listener = (message: unknown): void => void messages.push([key, message as Record<string, unknown>]);
      subscribe(name, listener);
      return [name, listener] as const;
    });
    const store = sqliteStore();
    try {
      const auth = authFor(emu, store);
      const user = 'channels@example.com';
      const token = await login(emu, auth, user);
      messages.length = 0;
      await auth.getAccessToken({ user }); // remembered by the login: a hit
      emu.clock.advance(HOUR);
      const fresh = await auth.getAccessToken({ user }); // expired: a miss, then one refresh
      assert.deepEqual(
        messages.map(([key, m]) =>
          key === 'cache'
            ? `cache:${m.hit}`
            : key === 'lockWait'
              ? `lock:${m.lock}:${m.outcome}`
              : key === 'storeOperation'
                ? `store:${m.operation}:${m.code}`
                : `${key}:${m.tokenId}:${m.reason}`,
        ),
        [
          'cache:true',
          'cache:false',
          'store:findToken:null', // the user's row
          `lock:refresh:${token.id}:acquired`,
          'store:findTokenById:null', // re-read under the lock
          `refreshStart:${token.id}:expiry`,
          'store:findTokenById:null', // still ours? (a revoke may have removed it)
          'store:saveToken:null',
          `refreshEnd:${token.id}:expiry`,
        ],
      );
      for (const [key, m] of messages) {
        if (key === 'storeOperation')
          assert.ok(typeof m.durationMs === 'number' && m.durationMs >= 0, `durationMs ${m.durationMs}`);
      }
      const end = messages.at(-1)![1];
      assert.ok(typeof end.durationMs === 'number' && end.durationMs >= 0, `durationMs ${end.durationMs}`);

      messages.length = 0;
      emu.clock.advance(HOUR);
      emu.faults.inject({ kind: 'status', status: 503, target: 'token', times: 1 });
      await assert.rejects(auth.getAccessToken({ user }), { code: ErrorCode.SERVER_ERROR });
      const error = messages.find(([key]) => key === 'refreshError')?.[1];
      assert.equal(error?.code, ErrorCode.SERVER_ERROR);
      assert.equal(error?.tokenId, token.id);
      assert.ok((error?.cooldownMs as number) > 0, `cooldownMs ${error?.cooldownMs}`);

      const text = JSON.stringify(messages);
      for (const secret of [CLIENT.clientSecret, token.refreshToken!, token.accessToken!, fresh]) {
        assert.ok(!text.includes(secret), 'no secret in a message');
      }
    } finally {
      for (const [name, listener] of listeners) unsubscribe(name, listener);
      await store.close();
    }
  });
  it('publishes a failed store call with its error code, and API 429s as retried or given up', async () => {
    const messages: [string, Record<string, unknown>][] = [];
    const listen = (key: string) => (message: unknown) => void messages.push([key, message as Record<string, unknown>]);
    const onStore = listen('store');
    const onThrottle = listen('throttle');
    subscribe(CHANNELS.storeOperation, onStore);
    subscribe(CHANNELS.apiThrottle, onThrottle);
    const store = sqliteStore();
    try {
      const auth = authFor(emu, store);
      const user = 'throttled@example.com';
      await login(emu, auth, user);
      const client = new ZohoClient({ auth, rateLimit: { maxRetries: 1, sleep: async () => {} } });
      emu.faults.inject({ kind: 'throttle', target: 'api', times: 1, retryAfterSeconds: 2 });
      await client.get('/crm/v8/org', { user });
      emu.faults.inject({ kind: 'throttle', target: 'api', times: 2, retryAfterSeconds: 3 });
      await assert.rejects(client.get('/crm/v8/org?search=ana@example.com', { user }), {
        code: ErrorCode.RATE_LIMITED,
      });
      assert.deepEqual(
        messages.filter(([key]) => key === 'throttle').map(([, m]) => [m.call, m.attempt, m.waitMs, m.outcome]),
        [
          ['GET /crm/v8/org', 1, 2000, 'retry'],
          ['GET /crm/v8/org', 1, 3000, 'retry'],
          ['GET /crm/v8/org', 2, 3000, 'gave-up'],
        ],
      );
      messages.length = 0;
      await store.close();
      await assert.rejects(authFor(emu, store).getAccessToken({ user }), { code: ErrorCode.STORE_CLOSED });
      assert.deepEqual(
        messages.map(([key, m]) => [key, m.operation, m.code]),
        [['store', 'findToken', ErrorCode.STORE_CLOSED]],
      );
    } finally {
      unsubscribe(CHANNELS.storeOperation, onStore);
      unsubscribe(CHANNELS.apiThrottle, onThrottle);
      emu.faults.clear('api');
    }
  });
});
