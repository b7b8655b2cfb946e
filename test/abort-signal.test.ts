import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHANNELS, ErrorCode, MemoryStore, OAuthToken, ZohoTokenError, type LockWaitMessage } from 'zoho-token-store';
import type { StoreLock, TokenStore } from 'zoho-token-store/kit';
import { refreshLockName } from 'zoho-token-store/kit';
import { HOUR, authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';

const emu = await emulator();
after(() => emu.close());

/** A signal that fires after `ms`. */
function abortAfter(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('the request deadline passed')), ms);
  return controller.signal;
}

function isAborted(error: unknown): boolean {
  return error instanceof ZohoTokenError && error.code === ErrorCode.ABORTED;
}

// A wait the abort must cut: far longer than any test's time limit.
const LONG_WAIT = { lockLeaseMs: 120_000, lockWaitMs: 600_000 };

/** A logged-in user whose token is stale, and its refresh lock held elsewhere (long waits). */
async function staleWithLockHeld(user: string) {
  const store = sqliteStore();
  const auth = authFor(emu, store, LONG_WAIT);
  const token = await login(emu, auth, user);
  emu.clock.advance(HOUR);
  const held = await store.lock.acquire(refreshLockName(token.id!), { leaseMs: 60_000, waitMs: 0 });
  assert.ok(held);
  return { store, auth, token, held };
}

describe('AbortSignal on ZohoAuth', () => {
  it('cuts a wait for the refresh lock held elsewhere; the other callers still get the refresh', async () => {
    const user = 'abort-lock@example.com';
    const { store, auth, token, held } = await staleWithLockHeld(user);
    const patient = auth.getAccessToken({ user });
    await assert.rejects(auth.getAccessToken({ user }, { signal: abortAfter(50) }), (error: unknown) => {
      assert.ok(isAborted(error), String(error));
      assert.equal((error as Error).message, 'getAccessToken was aborted by the caller');
      assert.equal(((error as Error).cause as Error).message, 'the request deadline passed');
      return true;
    });
    const refreshesBefore = emu.stats().accessTokensIssued;
    await held.release();
    const fresh = await patient;
    assert.notEqual(fresh, token.accessToken);
    assert.equal(emu.stats().accessTokensIssued, refreshesBefore + 1, 'one refresh, for the caller that waited');
    await store.close();
  });

  it('once every caller of a shared refresh has given up, it stops waiting for the lock', async () => {
    const user = 'abort-all@example.com';
    const { store, auth, token, held } = await staleWithLockHeld(user);
    const lock = refreshLockName(token.id!);
    const waits: LockWaitMessage[] = [];
    const onWait = (message: unknown): void => void waits.push(message as LockWaitMessage);
    subscribe(CHANNELS.lockWait, onWait);
    try {
      const first = new AbortController();
      const second = new AbortController();
      const viaGet = auth.getAccessToken({ user }, { signal: first.signal });
      const viaRefresh = auth.refresh({ user }, { signal: second.signal });
      first.abort(new Error('first caller gone'));
      await assert.rejects(viaGet, isAborted);
      await sleep(20);
      assert.equal(waits.length, 0, 'the other caller still waits: so does the refresh');
      second.abort(new Error('second caller gone'));
      await assert.rejects(viaRefresh, isAborted);
      // The refresh's own wait ends (polled; fails after ~10 s, not a timing assertion).
      for (let i = 0; i < 1_000 && waits.length === 0; i++) await sleep(10);
      assert.deepEqual(
        waits.map((w) => [w.lock, w.outcome]),
        [[lock, 'aborted']],
      );
      const issued = emu.stats().accessTokensIssued;
      await held.release();
      const fresh = await auth.getAccessToken({ user });
      assert.notEqual(fresh, token.accessToken);
      assert.equal(emu.stats().accessTokensIssued, issued + 1, 'only the new caller refreshed');
    } finally {
      unsubscribe(CHANNELS.lockWait, onWait);
      await store.close();
    }
  });

  it('a lock that rejects with the bare abort reason: the caller gets ABORTED, a caller who did not abort gets the refresh', async () => {
    const inner = new MemoryStore();
    let free = false;
    // Held elsewhere until `free`; on abort it rejects with the signal's own reason, as many locks do.
    const lock: StoreLock = {
      acquire: (_name, { signal }) =>
        new Promise((resolve, reject) => {
          if (free) return resolve({ release: async () => {} });
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
    };
    const store: TokenStore = {
      lock,
      findToken: (t) => inner.findToken(t),
      findTokenById: (id) => inner.findTokenById(id),
      saveToken: (t) => inner.saveToken(t),
      deleteToken: (id) => inner.deleteToken(id),
      getTokens: () => inner.getTokens(),
      deleteTokens: () => inner.deleteTokens(),
      close: () => inner.close(),
    };
    const auth = authFor(emu, store);
    const user = 'abort-bare-lock@example.com';
    free = true;
    const token = await login(emu, auth, user);
    free = false;
    emu.clock.advance(HOUR);
    const caller = new AbortController();
    const call = auth.getAccessToken({ user }, { signal: caller.signal });
    await sleep(20);
    caller.abort(new Error('caller A gone'));
    await assert.rejects(call, isAborted);
    free = true;
    const fresh = await auth.getAccessToken({ user });
    assert.notEqual(fresh, token.accessToken);
  });

  it('a refresh request already at Zoho is let finish and saved when its only caller gives up', async () => {
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const user = 'abort-refresh-http@example.com';
    const token = await login(emu, auth, user);
    emu.clock.advance(HOUR);
    const issued = emu.stats().accessTokensIssued;
    emu.faults.inject({ target: 'token', kind: 'latency', ms: 400, times: 1 });
    await assert.rejects(auth.getAccessToken({ user }, { signal: abortAfter(50) }), isAborted);
    // Zoho mints the token either way: it is saved, not lost (polled; fails after ~10 s).
    let stored = await store.findTokenById(token.id!);
    for (let i = 0; i < 1_000 && stored?.accessToken === token.accessToken; i++) {
      await sleep(10);
      stored = await store.findTokenById(token.id!);
    }
    assert.notEqual(stored?.accessToken, token.accessToken);
    assert.equal(emu.stats().accessTokensIssued, issued + 1);
    assert.equal(await auth.getAccessToken({ user }), stored?.accessToken);
    assert.equal(emu.stats().accessTokensIssued, issued + 1, 'served, not refreshed again');
    await store.close();
  });

  it('revoke aborted while waiting for the lock revokes nothing, then or later', async () => {
    const store = sqliteStore();
    const auth = authFor(emu, store, LONG_WAIT);
    const user = 'abort-revoke-lock@example.com';
    const token = await login(emu, auth, user);
    const held = await store.lock.acquire(refreshLockName(token.id!), { leaseMs: 60_000, waitMs: 0 });
    assert.ok(held);
    await assert.rejects(auth.revoke({ user }, { signal: abortAfter(50) }), isAborted);
    await held.release();
    await sleep(300);
    assert.equal((await store.findTokenById(token.id!))?.refreshToken, token.refreshToken, 'still stored');
    assert.equal(emu.tokenInfo(token.refreshToken!) !== undefined, true, 'still valid at Zoho');
    // The lock is free again: nobody kept it after the abort.
    const again = await store.lock.acquire(refreshLockName(token.id!), { leaseMs: 1_000, waitMs: 0 });
    assert.ok(again, 'the lock was not left taken');
    await again.release();
    await store.close();
  });

  it('cuts a revoke request in flight at Zoho: ABORTED, and the token stays stored', async () => {
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const user = 'abort-http@example.com';
    const token = await login(emu, auth, user);
    emu.faults.inject({ target: 'revoke', kind: 'latency', ms: 5_000, times: 1 });
    await assert.rejects(auth.revoke({ user }, { signal: abortAfter(100) }), isAborted);
    emu.faults.clear('revoke');
    assert.equal((await store.findTokenById(token.id!))?.refreshToken, token.refreshToken);
    await store.close();
  });

  it('an exchange cut short still saves its token: the same code then returns it', async () => {
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const code = await emu.createGrantCode({
      clientId: auth.clientId,
      user: 'abort-code@example.com',
      scopes: ['ZohoCRM.users.READ'],
    });
    emu.faults.inject({ target: 'token', kind: 'latency', ms: 400, times: 1 });
    await assert.rejects(
      auth.exchangeGrantToken(code, { user: 'abort-code@example.com', signal: abortAfter(50) }),
      isAborted,
    );
    await sleep(600);
    const saved = await store.findToken(new OAuthToken({ userSignature: 'abort-code@example.com' }));
    assert.equal(typeof saved?.refreshToken, 'string');
    const again = await auth.exchangeGrantToken(code, { user: 'abort-code@example.com' });
    assert.equal(again.refreshToken, saved!.refreshToken);
    await store.close();
  });

  it('an already aborted signal fails every method at once; a signal that is not an AbortSignal is INVALID_ARGUMENT', async () => {
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const user = 'abort-now@example.com';
    await login(emu, auth, user);
    const signal = AbortSignal.abort();
    for (const call of [
      () => auth.getAccessToken({ user }, { signal }),
      () => auth.getCredentials({ user }, { signal }),
      () => auth.getToken({ user }, { signal }),
      () => auth.getRequestHeaders({ user }, { signal }),
      () => auth.refresh({ user }, { signal }),
      () => auth.handleUnauthorized({ user }, 'x', { signal }),
      () => auth.bind({ user }, 'us', { signal }),
      () => auth.revoke({ user }, { signal }),
      () => auth.logoutAll({ signal }),
      () => auth.exchangeGrantToken('1000.x.y', { signal }),
    ]) {
      await assert.rejects(call(), isAborted);
    }
    assert.equal((await store.getTokens()).length, 1, 'nothing was removed');
    await assert.rejects(auth.getAccessToken({ user }, { signal: 'soon' as never }), {
      code: ErrorCode.INVALID_ARGUMENT,
      message: 'signal must be an AbortSignal',
    });
    await store.close();
  });
});

describe('AbortSignal: nothing starts for a caller already past its deadline', () => {
  it('refresh and handleUnauthorized with an aborted signal cost no call to Zoho', async () => {
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const user = 'abort-nothing@example.com';
    const token = await login(emu, auth, user);
    const before = emu.stats().accessTokensIssued;
    const signal = AbortSignal.abort();
    await assert.rejects(auth.refresh({ user }, { signal }), isAborted);
    await assert.rejects(auth.handleUnauthorized({ user }, token.accessToken!, { signal }), isAborted);
    await sleep(100);
    assert.equal(emu.stats().accessTokensIssued, before);
    await store.close();
  });
});
