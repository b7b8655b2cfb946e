import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DataCenter,
  ErrorCode,
  MemoryStore,
  OAuthToken,
  ZohoAuth,
  ZohoClient,
  ZohoTokenError,
  customEnvironment,
  type TokenDeadEvent,
  type TokenRefreshedEvent,
  type TokenRevokedEvent,
  type TokenSavedEvent,
} from 'zoho-token-store';
import { refreshLockName } from 'zoho-token-store/kit';
import {
  CLIENT,
  HOUR,
  MARGIN,
  OTHER_CLIENT,
  REDIRECT,
  SCOPES,
  authFor,
  countingStore,
  dbFile,
  emulator,
  login,
  sqliteStore,
} from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';

const USER = 'ada.lovelace@example.com';

describe('ZohoAuth options', () => {
  test('every option is validated once, naming the option', async () => {
    const emu = await emulator();
    const base = {
      store: new MemoryStore(),
      environment: emu.environment,
      clientId: CLIENT.clientId,
      clientSecret: CLIENT.clientSecret,
    };
    const cases: [Record<string, unknown>, string][] = [
      [{ clientId: '' }, 'clientId'],
      [{ clientSecret: undefined }, 'clientSecret'],
      [{ store: {} }, 'store'],
      [{ environment: { ...emu.environment, accountsUrl: 'ftp://x' } }, 'environment.accountsUrl'],
      [{ environment: { ...emu.environment, kind: 'staging' } }, 'environment.kind'],
      [{ redirectUrl: 'not a url' }, 'redirectUrl'],
      [{ refreshMarginMs: -1 }, 'refreshMarginMs'],
      [{ logger: { info() {} } }, 'logger'],
      [{ clock: {} }, 'clock'],
      [{ retries: 1.5 }, 'retries'],
      [{ timeoutMs: 0 }, 'timeoutMs'],
      [{ timeoutMs: 2 ** 31 }, 'timeoutMs'],
      [{ lockLeaseMs: 0 }, 'lockLeaseMs'],
      [{ hooks: { onTokenSaved: 'x' } }, 'hooks.onTokenSaved'],
    ];
    for (const [override, field] of cases) {
      const error = await rejectsWith(
        Promise.resolve().then(() => new ZohoAuth({ ...base, ...override } as never)),
        ErrorCode.INVALID_ARGUMENT,
      );
      assert.equal(error.field, field);
    }
    const auth = new ZohoAuth({ ...base, environment: DataCenter.EU.sandbox });
    assert.equal(auth.environment.apiDomain, 'https://sandbox.zohoapis.eu');
    assert.ok(Object.isFrozen(auth.environment));
  });

  test('a call must name whose token it wants', async () => {
    const emu = await emulator();
    const auth = authFor(emu, new MemoryStore());
    for (const who of [undefined, null, {}, { user: '' }, { user: 'a@x', id: '1' }, 'a@x']) {
      await rejectsWith(auth.getAccessToken(who as never), ErrorCode.INVALID_ARGUMENT);
    }
    await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.AUTH_REQUIRED);
  });
});

describe('exchangeGrantToken', () => {
  test('saves every field, and a second exchange of the same code never reaches Zoho', async () => {
    const emu = await emulator();
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: SCOPES });
    const token = await auth.exchangeGrantToken(code, { user: USER });

    assert.match(token.id ?? '', /^\d+$/);
    assert.equal(token.userName, USER);
    assert.equal(token.clientId, CLIENT.clientId);
    assert.equal(token.grantToken, code);
    assert.equal(token.expiresAt, emu.clock.now() + HOUR);
    assert.equal(token.apiDomain, emu.url);
    assert.equal(token.accountsUrl, emu.url);
    assert.equal(emu.tokenInfo(token.refreshToken!)?.type, 'refresh');
    assert.equal(emu.tokenInfo(token.accessToken!)?.user, USER);
    const row = await store.findTokenById(token.id!);
    assert.deepEqual(row?.toInit(), { ...token.toInit(), redirectUrl: REDIRECT });

    const before = emu.stats();
    assert.equal(before.grantRequests, 1);
    const again = await auth.exchangeGrantToken(code, { user: USER });
    // A second ZohoAuth (another process after a double-submitted callback) finds it in the store too.
    const other = await authFor(emu, store).exchangeGrantToken(code);
    assert.equal(emu.stats().requests, before.requests, 'no request at all reached the emulator');
    assert.equal(again.id, token.id);
    assert.equal(other.accessToken, token.accessToken);
  });

  test('concurrent exchanges of one code send it once', async () => {
    const emu = await emulator();
    const auth = authFor(emu, sqliteStore());
    const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: SCOPES });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => auth.exchangeGrantToken(code, { user: USER })));
    assert.equal(emu.stats().grantRequests, 1);
    assert.equal(new Set(tokens.map((t) => t.accessToken)).size, 1);
  });

  test('learns the user from the CRM when none is given, or saves without one', async () => {
    const emu = await emulator();
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: SCOPES });
    const token = await auth.exchangeGrantToken(code);
    assert.equal(token.userName, USER);
    assert.equal(emu.stats().byEndpoint['GET /crm/v8/users'], 1);

    const quiet = authFor(emu, store, { lookupUser: false });
    const code2 = await emu.createGrantCode({ clientId: CLIENT.clientId, user: 'grace@example.com', scopes: SCOPES });
    const anonymous = await quiet.exchangeGrantToken(code2);
    assert.equal(anonymous.userName, null);
    assert.equal(await quiet.getAccessToken({ id: anonymous.id! }), anonymous.accessToken);
    // Without the users scope the lookup fails (OAUTH_SCOPE_MISMATCH): saved without a user, no error.
    const code3 = await emu.createGrantCode({
      clientId: CLIENT.clientId,
      user: 'linus@example.com',
      scopes: ['ZohoCRM.modules.ALL'],
    });
    assert.equal((await auth.exchangeGrantToken(code3)).userName, null);
  });

  test('web flow: consent URL, callback state check, exchange at the callback data center', async () => {
    const emu = await emulator();
    const auth = authFor(emu, sqliteStore());
    const url = auth.authorizationUrl({ scopes: SCOPES, state: 'state-123' });
    assert.equal(url.searchParams.get('access_type'), 'offline');
    assert.equal(url.searchParams.get('redirect_uri'), REDIRECT);
    const callback = await emu.approve(url, { user: USER });
    const error = await rejectsWith(auth.exchangeCallback(callback, { state: 'forged' }), ErrorCode.INVALID_ARGUMENT);
    assert.equal(error.field, 'state');
    assert.equal(emu.stats().grantRequests, 0);
    const token = await auth.exchangeCallback(callback, { state: 'state-123' });
    assert.equal(token.userName, USER);
    assert.equal(token.redirectUrl, REDIRECT);
    // An accounts server that is not the location's is refused before the secret goes anywhere.
    const forged = new URL(callback);
    forged.searchParams.set('accounts-server', 'http://127.0.0.1:9');
    await rejectsWith(auth.exchangeCallback(forged, { state: 'state-123' }), ErrorCode.INVALID_ARGUMENT);
    assert.equal(emu.stats().grantRequests, 1);
  });

  test('Zoho errors surface as typed errors', async () => {
    const emu = await emulator();
    const store = sqliteStore();
    const auth = authFor(emu, store);
    await rejectsWith(auth.exchangeGrantToken(`1000.${'0'.repeat(32)}.${'1'.repeat(32)}`), ErrorCode.INVALID_GRANT);
    const code = () => emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: SCOPES });
    await rejectsWith(
      authFor(emu, store, { clientId: '1000.UNKNOWN' }).exchangeGrantToken(await code()),
      ErrorCode.INVALID_CLIENT,
    );
    await rejectsWith(
      authFor(emu, store, { clientSecret: 'wrong-secret' }).exchangeGrantToken(await code()),
      ErrorCode.INVALID_CLIENT_SECRET,
    );
    const webCode = new URL(
      await emu.approve(auth.authorizationUrl({ scopes: SCOPES, state: 's' }), { user: USER }),
    ).searchParams.get('code')!;
    await rejectsWith(
      auth.exchangeGrantToken(webCode, { redirectUrl: 'http://127.0.0.1:1/elsewhere' }),
      ErrorCode.INVALID_REDIRECT_URI,
    );
    emu.faults.inject({ kind: 'throttle', target: 'token', times: 1 });
    assert.ok((await rejectsWith(auth.exchangeGrantToken(await code()), ErrorCode.THROTTLED)).retryAfterMs! > 0);
    emu.faults.inject({ kind: 'reset', target: 'token', times: 1 });
    await rejectsWith(auth.exchangeGrantToken(await code()), ErrorCode.NETWORK);
    emu.faults.inject({ kind: 'status', status: 503, target: 'token', times: 1 });
    assert.equal((await rejectsWith(auth.exchangeGrantToken(await code()), ErrorCode.SERVER_ERROR)).status, 503);
    emu.faults.inject({ kind: 'malformed', target: 'token', times: 1 });
    await rejectsWith(auth.exchangeGrantToken(await code()), ErrorCode.MALFORMED_RESPONSE);
    assert.deepEqual(await store.getTokens(), [], 'nothing saved by a failed exchange');
    // The web code was not burnt by the wrong redirect: the right one still works.
    assert.equal((await auth.exchangeGrantToken(webCode, { user: USER })).userName, USER);
  });
});

describe('getAccessToken', () => {
  test('a fresh token costs no I/O; a stale one is refreshed once and saved', async () => {
    const emu = await emulator();
    const counted = countingStore(sqliteStore());
    const auth = authFor(emu, counted.store);
    const first = await login(emu, auth, USER);
    const calls = counted.calls();
    const requests = emu.stats().requests;
    for (let i = 0; i < 1000; i++) assert.equal(await auth.getAccessToken({ user: USER }), first.accessToken);
    assert.equal(await auth.getAccessToken({ id: first.id! }), first.accessToken);
    assert.equal(await auth.getAccessToken(first), first.accessToken);
    assert.equal(counted.calls(), calls, 'no store call on a cache hit');
    assert.equal(emu.stats().requests, requests, 'no request on a cache hit');

    emu.clock.advance(HOUR);
    const fresh = await auth.getAccessToken({ user: USER });
    assert.notEqual(fresh, first.accessToken);
    assert.equal(emu.stats().refreshRequests, 1);
    const row = await counted.store.findTokenById(first.id!);
    assert.equal(row?.accessToken, fresh);
    assert.equal(row?.expiresAt, emu.clock.now() + HOUR);
    assert.equal(row?.refreshToken, first.refreshToken, 'Zoho does not rotate refresh tokens: the stored one is kept');
  });

  test('cachedCredentials: only what memory holds and is fresh, never the store, never a refresh', async () => {
    const emu = await emulator();
    const counted = countingStore(sqliteStore());
    const saved = await login(emu, authFor(emu, counted.store), USER);
    const auth = authFor(emu, counted.store); // a new process: nothing in memory yet
    const calls = counted.calls();
    assert.equal(auth.cachedCredentials({ user: USER }), undefined);
    assert.equal(counted.calls(), calls, 'a miss reads nothing');
    const loaded = await auth.getCredentials({ user: USER });
    const cached = auth.cachedCredentials({ user: USER });
    assert.deepEqual(
      [cached?.id, cached?.user, cached?.accessToken, cached?.apiDomain, cached?.expiresAt],
      [saved.id, USER, saved.accessToken, emu.environment.apiDomain, saved.expiresAt],
    );
    assert.equal(cached, loaded);
    assert.equal(auth.cachedCredentials({ id: saved.id! })?.accessToken, saved.accessToken);
    assert.equal(auth.cachedCredentials({ user: 'someone.else@example.com' }), undefined);
    emu.clock.set(saved.expiresAt! - MARGIN); // inside the refresh margin: no longer served from memory
    assert.equal(auth.cachedCredentials({ user: USER }), undefined);
    assert.equal(emu.stats().refreshRequests, 0, 'it does not refresh');
  });

  test('refreshes inside the margin, not before', async () => {
    const emu = await emulator();
    const auth = authFor(emu, sqliteStore());
    const token = await login(emu, auth, USER);
    emu.clock.set(token.expiresAt! - MARGIN - 1);
    assert.equal(await auth.getAccessToken({ user: USER }), token.accessToken);
    assert.equal(emu.stats().refreshRequests, 0);
    emu.clock.advance(1);
    assert.notEqual(await auth.getAccessToken({ user: USER }), token.accessToken);
    assert.equal(emu.stats().refreshRequests, 1);
  });

  test('a token stored by another process is used, not refreshed again', async () => {
    const emu = await emulator();
    const file = dbFile();
    const a = authFor(emu, sqliteStore(file));
    const b = authFor(emu, sqliteStore(file));
    await login(emu, a, USER);
    assert.equal(await b.getAccessToken({ user: USER }), await a.getAccessToken({ user: USER }));
    emu.clock.advance(HOUR);
    const refreshed = await a.getAccessToken({ user: USER });
    assert.equal(await b.getAccessToken({ user: USER }), refreshed);
    assert.equal(emu.stats().refreshRequests, 1);
  });

  for (const legacy of [false, true]) {
    test(`expires_in ${legacy ? 'legacy (expires_in_sec + ms)' : 'in seconds'} gives a one-hour expiry`, async () => {
      const emu = await emulator({ legacyExpiresInSec: legacy });
      const auth = authFor(emu, sqliteStore());
      const token = await login(emu, auth, USER);
      assert.equal(token.expiresAt, emu.clock.now() + HOUR);
      emu.clock.advance(HOUR - MARGIN);
      await auth.getAccessToken({ user: USER });
      assert.equal((await auth.getToken({ user: USER })).expiresAt, emu.clock.now() + HOUR);
      assert.equal(emu.stats().refreshRequests, 1);
    });
  }

  test('a refresh that would outlast its lock lease is cut short, and never overwrites a newer token', async () => {
    const emu = await emulator();
    const file = dbFile('lease');
    // Two processes' worth of ZohoAuth on one SQLite file; every refresh attempt of the first
    // times out, so only a refresh that ignored its lease could still save after the second.
    // No back-off after A's failure (refresh-backoff.test.ts covers it): B waits for the lock, then refreshes.
    const options = { timeoutMs: 400, retries: 2, lockLeaseMs: 1_000, lockWaitMs: 5_000, refreshBackoffMs: 0 };
    const a = authFor(emu, sqliteStore(file), options);
    const b = authFor(emu, sqliteStore(file), options);
    const first = await login(emu, a, USER);
    emu.clock.advance(HOUR);
    emu.faults.inject({ target: 'token', kind: 'latency', ms: 600, times: 3 });
    const fromA = a.getAccessToken({ user: USER }).then(
      (token) => token,
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const fromB = await b.getAccessToken({ user: USER });
    const resultA = await fromA;
    // A gave up within its lease (every attempt timed out); B refreshed once the lock was free.
    assert.ok(resultA instanceof ZohoTokenError && resultA.code === ErrorCode.NETWORK, String(resultA));
    assert.notEqual(fromB, first.accessToken);
    assert.equal(emu.tokenInfo(fromB)?.user, USER);
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal((await b.store.findTokenById(first.id!))?.accessToken, fromB, 'the newer token stays stored');
    const refreshes = emu.stats().refreshRequests;
    assert.equal(await a.getAccessToken({ user: USER }), fromB);
    assert.equal(emu.stats().refreshRequests, refreshes);
  });

  test('100 concurrent callers: exactly one refresh, one token for all', async () => {
    const emu = await emulator();
    const counted = countingStore(sqliteStore());
    const auth = authFor(emu, counted.store);
    const first = await login(emu, auth, USER);
    emu.clock.advance(HOUR);
    const calls = counted.calls();
    const tokens = await Promise.all(Array.from({ length: 100 }, () => auth.getAccessToken({ user: USER })));
    assert.equal(emu.stats().refreshRequests, 1);
    // One read of the user, one re-read under the lock, one check before the save, one save:
    // not one read per caller.
    assert.equal(counted.calls() - calls, 4);
    assert.equal(new Set(tokens).size, 1);
    assert.notEqual(tokens[0], first.accessToken);
    assert.equal((await auth.store.findTokenById(first.id!))?.accessToken, tokens[0]);
  });

  test('refresh errors surface typed; a token still valid is used meanwhile', async () => {
    const emu = await emulator();
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const first = await login(emu, auth, USER);
    emu.clock.advance(HOUR - MARGIN + 1); // inside the margin, not yet expired
    emu.faults.inject({ kind: 'status', status: 502, target: 'token', times: 1 });
    assert.equal(await auth.getAccessToken({ user: USER }), first.accessToken, 'the old token serves while Zoho fails');

    emu.clock.advance(MARGIN); // now expired
    const cases = [
      [{ kind: 'reset' }, ErrorCode.NETWORK],
      [{ kind: 'status', status: 503 }, ErrorCode.SERVER_ERROR],
      [{ kind: 'malformed' }, ErrorCode.MALFORMED_RESPONSE],
      [{ kind: 'throttle' }, ErrorCode.THROTTLED],
    ] as const;
    for (const [fault, code] of cases) {
      emu.clock.advance(60_000); // past the cool-down of the previous failure (refresh-backoff.test.ts)
      emu.faults.inject({ ...fault, target: 'token', times: 1 });
      await rejectsWith(auth.getAccessToken({ user: USER }), code);
    }
    // After Zoho's throttle, no refresh is attempted before its retry time.
    const attempts = emu.stats().refreshRequests;
    await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.THROTTLED);
    assert.equal(emu.stats().refreshRequests, attempts);
    emu.clock.advance(60_000);
    const fresh = await auth.getAccessToken({ user: USER });
    assert.equal(emu.tokenInfo(fresh)?.user, USER);
    assert.equal((await store.findTokenById(first.id!))?.accessToken, fresh);
  });

  test('a lock held elsewhere past the wait: LOCK_TIMEOUT, and no refresh', async () => {
    const emu = await emulator();
    const store = sqliteStore();
    const auth = authFor(emu, store, { lockWaitMs: 150 });
    const token = await login(emu, auth, USER);
    const held = await store.lock.acquire(refreshLockName(token.id!), { leaseMs: 60_000, waitMs: 0 });
    assert.ok(held);
    emu.clock.advance(HOUR);
    await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.LOCK_TIMEOUT);
    assert.equal(emu.stats().refreshRequests, 0);
    await held.release();
    assert.notEqual(await auth.getAccessToken({ user: USER }), token.accessToken);
  });

  test('an OAuthToken carrying only a refresh token is imported, then refreshed', async () => {
    const emu = await emulator();
    const store = sqliteStore();
    const donor = await login(emu, authFor(emu, new MemoryStore()), USER);
    const auth = authFor(emu, store);
    const given = new OAuthToken({
      clientId: CLIENT.clientId,
      clientSecret: CLIENT.clientSecret,
      refreshToken: donor.refreshToken,
      userSignature: USER,
    });
    const access = await auth.getAccessToken(given);
    assert.equal(emu.tokenInfo(access)?.user, USER);
    assert.match(given.id ?? '', /^\d+$/, "the caller's token learns its id");
    const row = await store.findTokenById(given.id!);
    assert.equal(row?.refreshToken, donor.refreshToken);
    assert.equal(row?.apiDomain, emu.url);
    assert.equal(await auth.getAccessToken({ user: USER }), access);
  });
});

describe('dead tokens, revoke and logout', () => {
  test('a refresh token Zoho rejects: AUTH_REQUIRED with the cause, onTokenDead, row kept and never retried', async () => {
    const emu = await emulator();
    const store = sqliteStore();
    const dead: TokenDeadEvent[] = [];
    const auth = authFor(emu, store, { hooks: { onTokenDead: async (event) => void dead.push(event) } });
    const token = await login(emu, auth, USER);
    emu.revokeAll();
    emu.clock.advance(HOUR);
    const error = await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.AUTH_REQUIRED);
    assert.ok(error.cause instanceof ZohoTokenError && error.cause.code === ErrorCode.INVALID_GRANT);
    assert.equal(dead.length, 1);
    assert.equal(dead[0]?.token.id, token.id);
    assert.equal(dead[0]?.error.code, ErrorCode.INVALID_GRANT);
    const row = await store.findTokenById(token.id!);
    assert.equal(row?.userName, USER);
    assert.equal(row?.refreshToken, null);
    assert.equal(row?.accessToken, null);

    const requests = emu.stats().requests;
    await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.AUTH_REQUIRED);
    await rejectsWith(authFor(emu, store).getAccessToken({ user: USER }), ErrorCode.AUTH_REQUIRED);
    assert.equal(emu.stats().requests, requests, 'a dead token is never sent to Zoho again');
    // Logging in again revives the same row.
    const again = await login(emu, auth, USER);
    assert.equal(again.id, token.id);
    assert.equal(await auth.getAccessToken({ user: USER }), again.accessToken);
  });

  test('online access (no refresh token): served until it expires, then AUTH_REQUIRED without a refresh', async () => {
    const emu = await emulator();
    const auth = authFor(emu, sqliteStore());
    const code = await emu.createGrantCode({
      clientId: CLIENT.clientId,
      user: USER,
      scopes: SCOPES,
      accessType: 'online',
    });
    const token = await auth.exchangeGrantToken(code, { user: USER });
    assert.equal(token.refreshToken, null);
    emu.clock.advance(HOUR - 1000); // inside the margin: still usable
    assert.equal(await authFor(emu, auth.store).getAccessToken({ user: USER }), token.accessToken);
    emu.clock.advance(1000);
    await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.AUTH_REQUIRED);
    assert.equal(emu.stats().refreshRequests, 0);
  });

  test('revoke: Zoho revokes, the row is gone, the next call needs a login', async () => {
    const emu = await emulator();
    const store = sqliteStore();
    const revoked: TokenRevokedEvent[] = [];
    const auth = authFor(emu, store, { hooks: { onTokenRevoked: (event) => void revoked.push(event) } });
    const token = await login(emu, auth, USER);
    assert.equal(await auth.revoke({ user: USER }), true);
    assert.equal(emu.stats().revokeRequests, 1);
    assert.equal(emu.stats().revokeSuccesses, 1);
    assert.equal(emu.tokenInfo(token.refreshToken!), undefined, 'dead at Zoho');
    assert.equal(await store.findTokenById(token.id!), null);
    assert.deepEqual([revoked.length, revoked[0]?.revokedAtZoho, revoked[0]?.token.id], [1, true, token.id]);
    await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.AUTH_REQUIRED);
    assert.equal(await auth.revoke({ user: USER }), false);
    assert.equal(emu.stats().revokeRequests, 1);
  });

  test('revoke deletes a token Zoho no longer knows; keeps it when Zoho cannot be reached', async () => {
    const emu = await emulator();
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const token = await login(emu, auth, USER);
    emu.faults.inject({ kind: 'reset', target: 'revoke', times: 1 });
    await rejectsWith(auth.revoke({ id: token.id! }), ErrorCode.NETWORK);
    assert.notEqual(await store.findTokenById(token.id!), null);
    emu.revokeAll();
    assert.equal(await auth.logout({ id: token.id! }), true);
    assert.equal(await store.findTokenById(token.id!), null);
  });

  test('logoutAll removes every token of this client only', async () => {
    const emu = await emulator();
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const other = authFor(emu, store, { clientId: OTHER_CLIENT.clientId, clientSecret: OTHER_CLIENT.clientSecret });
    await login(emu, auth, 'a@example.com');
    await login(emu, auth, 'b@example.com');
    const kept = await login(emu, other, 'a@example.com');
    assert.equal(await auth.logoutAll(), 2);
    assert.equal(emu.stats().revokeSuccesses, 2);
    assert.deepEqual(
      (await store.getTokens()).map((t) => t.id),
      [kept.id],
    );
  });
});

describe('isolation and data-center binding', () => {
  test('users of two clients stay apart, even with the same email', async () => {
    const emu = await emulator();
    const store = sqliteStore();
    const a = authFor(emu, store);
    const b = authFor(emu, store, { clientId: OTHER_CLIENT.clientId, clientSecret: OTHER_CLIENT.clientSecret });
    const aAda = await login(emu, a, USER);
    const aGrace = await login(emu, a, 'grace@example.com');
    const bAda = await login(emu, b, USER);
    assert.equal(new Set([aAda.id, aGrace.id, bAda.id]).size, 3);
    assert.equal(await a.getAccessToken({ user: USER }), aAda.accessToken);
    assert.equal(await b.getAccessToken({ user: USER }), bAda.accessToken);
    assert.equal(emu.tokenInfo(await a.getAccessToken({ user: 'grace@example.com' }))?.user, 'grace@example.com');
    await rejectsWith(b.getAccessToken({ user: 'grace@example.com' }), ErrorCode.AUTH_REQUIRED);
    await rejectsWith(b.getAccessToken({ id: aAda.id! }), ErrorCode.AUTH_REQUIRED);
    await a.revoke({ user: USER });
    assert.equal(await b.getAccessToken({ user: USER }), bAda.accessToken);
    assert.equal(emu.tokenInfo(bAda.refreshToken!)?.clientId, OTHER_CLIENT.clientId);
  });

  test("a token from the eu data center is refreshed, revoked and used at eu's servers only", async () => {
    const emu = await emulator({ dataCenters: ['us', 'eu'], clients: [{ ...CLIENT, dc: 'eu' }] });
    const eu = emu.environmentFor('eu');
    const store = sqliteStore();
    // Configured for the default (us) environment; eu is known as another environment.
    const auth = authFor(emu, store, { environments: [eu] });
    const callback = await emu.approve(auth.authorizationUrl({ scopes: SCOPES, state: 's' }), { user: USER });
    assert.equal(new URL(callback).searchParams.get('location'), 'eu');
    const token = await auth.exchangeCallback(callback, { state: 's' });
    assert.equal(token.accountsUrl, eu.accountsUrl);
    assert.equal(token.apiDomain, eu.apiDomain);
    const usBefore = emu.stats().byDataCenter['us'] ?? 0;

    emu.clock.advance(HOUR);
    const fresh = await auth.getAccessToken({ user: USER });
    const body = (await new ZohoClient({ auth }).request('GET', '/crm/v8/users', {
      user: USER,
      query: { type: 'CurrentUser' },
    })) as {
      users: { email: string }[];
    };
    assert.equal(body.users[0]?.email, USER);
    await auth.revoke({ user: USER });
    const stats = emu.stats();
    assert.equal(stats.refreshSuccesses, 1);
    assert.equal(stats.revokeSuccesses, 1);
    assert.equal(stats.byDataCenter['us'] ?? 0, usBefore, 'nothing after login went to the us listener');
    assert.equal(emu.tokenInfo(fresh), undefined);
  });

  test('a custom environment is matched by its accounts server, whatever location label the callback carries', async () => {
    const emu = await emulator();
    const store = sqliteStore();
    // As the CLI's `--dc custom:<url>` builds it: the location label says nothing about Zoho's DCs.
    const custom = customEnvironment({ accountsUrl: emu.url, apiDomain: emu.url });
    assert.equal(custom.location, 'custom');
    const auth = authFor(emu, store, { environment: custom });
    const callback = await emu.approve(auth.authorizationUrl({ scopes: SCOPES, state: 's' }), { user: USER });
    assert.equal(new URL(callback).searchParams.get('location'), 'us');
    const token = await auth.exchangeCallback(callback, { state: 's' });
    assert.equal(token.accountsUrl, emu.url);
    // An accounts server that is not configured is refused before the secret is sent anywhere.
    const before = emu.stats().grantRequests;
    const foreign = new URL(callback);
    foreign.searchParams.set('accounts-server', 'https://accounts.example.invalid');
    foreign.searchParams.set('code', 'anything');
    await rejectsWith(auth.exchangeCallback(foreign, { state: 's' }), ErrorCode.INVALID_ARGUMENT);
    assert.equal(emu.stats().grantRequests, before);
  });

  test('a token without accountsUrl (rows from the official formats) is refreshed where its apiDomain says', async () => {
    const emu = await emulator({ dataCenters: ['us', 'eu'], clients: [{ ...CLIENT, dc: 'eu' }] });
    const eu = emu.environmentFor('eu');
    const store = sqliteStore();
    const auth = authFor(emu, store, { environments: [eu] });
    const callback = await emu.approve(auth.authorizationUrl({ scopes: SCOPES, state: 's' }), { user: USER });
    const token = await auth.exchangeCallback(callback, { state: 's' });
    await store.saveToken(new OAuthToken({ id: token.id!, accountsUrl: null }));
    emu.clock.advance(HOUR);
    const usBefore = emu.stats().byDataCenter['us'] ?? 0;
    await authFor(emu, store, { environments: [eu] }).getAccessToken({ user: USER });
    assert.equal(emu.stats().refreshSuccesses, 1);
    assert.equal(emu.stats().byDataCenter['us'] ?? 0, usBefore, 'nothing went to the configured (us) accounts server');
    assert.equal((await store.findTokenById(token.id!))?.accountsUrl, eu.accountsUrl);
  });

  test("a refresh response's api_domain never replaces the stored one", async () => {
    const emu = await emulator();
    const store = sqliteStore();
    const evil = 'https://www.zohoapis.example.invalid';
    const rewriting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(init?.body ?? '').includes('grant_type=refresh_token')) return response;
      const body = (await response.json()) as Record<string, unknown>;
      return Response.json({ ...body, api_domain: evil });
    };
    const auth = authFor(emu, store, { fetch: rewriting });
    const token = await login(emu, auth, USER);
    emu.clock.advance(HOUR);
    await auth.getAccessToken({ user: USER });
    assert.equal((await store.findTokenById(token.id!))?.apiDomain, emu.url);
    // With no stored API domain, the environment's fills it (not the response's).
    await store.saveToken(new OAuthToken({ id: token.id!, apiDomain: null }));
    emu.clock.advance(HOUR);
    const creds = await authFor(emu, store, { fetch: rewriting }).getCredentials({ user: USER });
    assert.equal(creds.apiDomain, emu.url);
    assert.equal((await store.findTokenById(token.id!))?.apiDomain, emu.url);
    assert.equal(emu.stats().refreshRequests, 2);
  });
});

describe('hooks and 401 handling', () => {
  test('hooks are awaited with the saved values; a throwing hook is logged, not fatal', async () => {
    const emu = await emulator();
    const saved: TokenSavedEvent[] = [];
    const refreshed: TokenRefreshedEvent[] = [];
    const errors: unknown[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (obj: unknown) => void errors.push(obj) };
    const auth = authFor(emu, sqliteStore(), {
      logger,
      hooks: {
        onTokenSaved: async (event) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          saved.push(event);
        },
        onTokenRefreshed: (event) => {
          refreshed.push(event);
          throw new Error('hook failure');
        },
      },
    });
    const token = await login(emu, auth, USER);
    assert.deepEqual(
      saved.map((e) => [e.reason, e.token.accessToken]),
      [['exchange', token.accessToken]],
    );
    emu.clock.advance(HOUR);
    const fresh = await auth.getAccessToken({ user: USER });
    assert.deepEqual(
      saved.map((e) => e.reason),
      ['exchange', 'refresh'],
    );
    assert.equal(saved[1]?.token.accessToken, fresh);
    assert.equal(refreshed[0]?.previousExpiresAt, token.expiresAt);
    assert.equal(refreshed[0]?.token.expiresAt, emu.clock.now() + HOUR);
    assert.equal(errors.length, 1);
    assert.match(JSON.stringify(errors[0]), /onTokenRefreshed/);
  });

  test('handleUnauthorized: uses a token another process stored, else forces one refresh, never loops', async () => {
    const emu = await emulator();
    const file = dbFile();
    const a = authFor(emu, sqliteStore(file));
    const b = authFor(emu, sqliteStore(file));
    const first = await login(emu, a, USER);
    await b.getAccessToken({ user: USER });
    emu.clock.advance(HOUR - MARGIN);
    const fromA = await a.getAccessToken({ user: USER });
    // b still caches `first` (stale by its margin only at that point) and the API rejects it:
    assert.equal(await b.handleUnauthorized({ user: USER }, first.accessToken!), fromA);
    assert.equal(emu.stats().refreshRequests, 1);

    emu.expireAccessTokens();
    const forced = await Promise.all(Array.from({ length: 10 }, () => b.handleUnauthorized({ user: USER }, fromA)));
    assert.equal(new Set(forced).size, 1);
    assert.notEqual(forced[0], fromA);
    assert.equal(emu.stats().refreshRequests, 2);
    assert.equal(await a.handleUnauthorized({ user: USER }, fromA), forced[0], "a finds b's token in the store");
    // The freshly forced token rejected again within the interval: no third refresh, neither in
    // the process that forced it nor in another one sharing the store (the guard is fleet-wide).
    const error = await rejectsWith(b.handleUnauthorized({ user: USER }, forced[0]!), ErrorCode.THROTTLED);
    assert.ok(error.retryAfterMs! > 0);
    await rejectsWith(
      authFor(emu, sqliteStore(file)).handleUnauthorized({ user: USER }, forced[0]!),
      ErrorCode.THROTTLED,
    );
    assert.equal(emu.stats().refreshRequests, 2);
  });
});

describe('throttling is never self-inflicted', () => {
  test('8 ZohoAuth instances on one SQLite file, two simulated hours of traffic', async () => {
    const emu = await emulator();
    const file = dbFile('hour');
    const auths = Array.from({ length: 8 }, () => authFor(emu, sqliteStore(file)));
    const users = ['a@example.com', 'b@example.com'];
    for (const user of users) await login(emu, auths[0]!, user);
    const start = emu.clock.now();
    const stepMs = 20_000;
    for (let t = 0; t < 2 * HOUR; t += stepMs) {
      emu.clock.advance(stepMs);
      const seen = await Promise.all(
        auths.flatMap((auth) =>
          users.flatMap((user) =>
            Array.from({ length: 5 }, () => auth.getAccessToken({ user }).then((token) => [user, token] as const)),
          ),
        ),
      );
      for (const user of users)
        assert.equal(
          new Set(seen.filter(([u]) => u === user).map(([, token]) => token)).size,
          1,
          'one token per user at a time',
        );
    }
    const stats = emu.stats();
    // A token lives an hour and is refreshed 5 minutes early: one refresh every 55 minutes per user.
    const expiries = Math.floor((emu.clock.now() - start) / (HOUR - MARGIN));
    assert.equal(stats.refreshRequests, expiries * users.length);
    assert.equal(stats.refreshThrottled, 0);
    assert.equal(stats.byError['Access Denied'], undefined);
    assert.equal(stats.accessTokensEvicted, 0);
  });
});
