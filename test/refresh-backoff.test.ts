// An accounts-server outage: a failed refresh cools the token down instead of every caller
// (and every process) hammering the token endpoint.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, MemoryStore } from 'zoho-token-store';
import { HOUR, MARGIN, authFor, dbFile, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';

const USER = 'ada.lovelace@example.com';
/** The default: two extra attempts inside one refresh, as in production. */
const RETRIES = 2;

describe('back-off after failed refreshes', () => {
  test('10 sequential calls on an expired token during a 503 outage: one refresh (with its retries), then fast failures', async (t) => {
    const emu = await emulator();
    const auth = authFor(emu, new MemoryStore(), { retries: RETRIES });
    await login(emu, auth, USER);
    emu.clock.advance(HOUR);
    emu.faults.inject({ kind: 'status', status: 503, target: 'token' });
    const before = emu.stats().refreshRequests;
    const errors = [];
    for (let i = 0; i < 10; i++)
      errors.push(await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.SERVER_ERROR));
    t.diagnostic(`token requests for 10 calls: ${emu.stats().refreshRequests - before}`);
    // The first call's refresh: 1 attempt + RETRIES retries. The 9 others fail fast.
    assert.equal(emu.stats().refreshRequests - before, 1 + RETRIES);
    assert.equal(errors[0]!.status, 503);
    for (const error of errors.slice(1)) {
      assert.equal(error.status, 503, 'the last error is repeated');
      assert.ok(error.retryAfterMs! > 0 && error.retryAfterMs! <= 1000, `retryAfterMs ${error.retryAfterMs}`);
    }

    // The outage ends; once the cool-down is over the next call refreshes.
    emu.faults.clear();
    emu.clock.advance(1000);
    const fresh = await auth.getAccessToken({ user: USER });
    assert.equal(emu.tokenInfo(fresh)?.user, USER);
    assert.equal(emu.stats().refreshRequests - before, 1 + RETRIES + 1);
  });

  test('repeated failures: the window doubles up to the cap; a success resets it', async () => {
    const emu = await emulator();
    const auth = authFor(emu, new MemoryStore(), { refreshBackoffMs: 1000, maxRefreshBackoffMs: 4000 });
    await login(emu, auth, USER);
    emu.clock.advance(HOUR);
    emu.faults.inject({ kind: 'reset', target: 'token' });
    const windows: number[] = [];
    for (let i = 0; i < 5; i++) {
      await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.NETWORK);
      const cooling = await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.NETWORK);
      windows.push(cooling.retryAfterMs!);
      emu.clock.advance(cooling.retryAfterMs!);
    }
    assert.equal(emu.stats().refreshRequests, 5, 'one request per window');
    const caps = [1000, 2000, 4000, 4000, 4000];
    windows.forEach((ms, i) =>
      assert.ok(ms >= caps[i]! / 2 && ms <= caps[i]!, `window ${i}: ${ms} ms, cap ${caps[i]}`),
    );
    emu.faults.clear();
    await auth.getAccessToken({ user: USER });
    emu.clock.advance(HOUR);
    emu.faults.inject({ kind: 'malformed', target: 'token', times: 1 });
    await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.MALFORMED_RESPONSE);
    const after = await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.MALFORMED_RESPONSE);
    assert.ok(after.retryAfterMs! <= 1000, 'back to the first window after a success');
  });

  test('a second process on the same store sends nothing during the cool-down, then one refresh serves both', async (t) => {
    const emu = await emulator();
    const file = dbFile('backoff');
    // A long window (in lock-lease wall time too), so nothing here depends on how fast the test runs.
    const options = { retries: RETRIES, refreshBackoffMs: 60_000, maxRefreshBackoffMs: 60_000 };
    const first = authFor(emu, sqliteStore(file), options);
    const second = authFor(emu, sqliteStore(file), options);
    await login(emu, first, USER);
    emu.clock.advance(HOUR);
    emu.faults.inject({ kind: 'status', status: 503, target: 'token' });
    const before = emu.stats().refreshRequests;
    await rejectsWith(first.getAccessToken({ user: USER }), ErrorCode.SERVER_ERROR);
    assert.equal(emu.stats().refreshRequests - before, 1 + RETRIES);
    for (let i = 0; i < 5; i++) {
      const error = await rejectsWith(second.getAccessToken({ user: USER }), ErrorCode.SERVER_ERROR);
      assert.ok(error.retryAfterMs! > 0);
    }
    t.diagnostic(
      `token requests, first process 1 call then second process 5 calls: ${emu.stats().refreshRequests - before}`,
    );
    assert.equal(emu.stats().refreshRequests - before, 1 + RETRIES, 'the second process sent nothing');

    emu.faults.clear();
    emu.clock.advance(60_000);
    const token = await first.getAccessToken({ user: USER });
    assert.equal(await second.getAccessToken({ user: USER }), token);
    assert.equal(emu.tokenInfo(token)?.user, USER);
    assert.equal(emu.stats().refreshRequests - before, 1 + RETRIES + 1);
  });

  test('during an outage a still-valid access token keeps being served', async (t) => {
    const emu = await emulator();
    const store = sqliteStore();
    // A long window (in lock-lease wall time too), so nothing here depends on how fast the test runs.
    const options = { retries: RETRIES, refreshBackoffMs: 60_000, maxRefreshBackoffMs: 60_000 };
    const auth = authFor(emu, store, options);
    const first = await login(emu, auth, USER);
    emu.clock.advance(HOUR - MARGIN + 1); // inside the margin, not yet expired
    emu.faults.inject({ kind: 'status', status: 503, target: 'token' });
    const before = emu.stats().refreshRequests;
    for (let i = 0; i < 10; i++) {
      assert.equal(await auth.getAccessToken({ user: USER }), first.accessToken);
      // A second process reading the same row during the cool-down serves it too, without a request.
      assert.equal(await authFor(emu, store, options).getAccessToken({ user: USER }), first.accessToken);
      emu.clock.advance(10_000);
    }
    t.diagnostic(`token requests for 10 rounds of 2 processes: ${emu.stats().refreshRequests - before}`);
    assert.equal(emu.stats().refreshRequests - before, 1 + RETRIES, 'one refresh (with its retries) in all');
  });
});
