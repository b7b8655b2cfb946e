import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, MemoryStore, OAuthToken, ZohoClient, ZohoTokenError } from 'zoho-token-store';
import { CLIENT, HOUR, SCOPES, authFor, dbFile, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';

const USER = 'ada.lovelace@example.com';

interface Users {
  users: { email: string }[];
}

describe('ZohoClient', () => {
  test('calls the API as the named user, JSON in and out, 204 as null', async () => {
    const emu = await emulator();
    const auth = authFor(emu, sqliteStore());
    const token = await login(emu, auth, USER);
    await login(emu, auth, 'grace@example.com');
    const client = new ZohoClient({ auth });
    const me = await client.request<Users>('GET', '/crm/v8/users', { user: USER, query: { type: 'CurrentUser' } });
    assert.equal(me?.users[0]?.email, USER);
    const grace = await client.get<Users>('/crm/v8/users', {
      user: 'grace@example.com',
      query: { type: 'CurrentUser' },
    });
    assert.equal(grace?.users[0]?.email, 'grace@example.com');
    const byId = await client.get<Users>('/crm/v8/users', {
      id: token.id!,
      query: new URLSearchParams({ type: 'CurrentUser' }),
    });
    assert.equal(byId?.users[0]?.email, USER);
    assert.equal(await client.get('/crm/v8/Leads', { token }), null, '204 No Content');

    const created = (await client.request('POST', '/crm/v8/Leads', {
      user: USER,
      body: { data: [{ Last_Name: 'Babbage' }] },
    })) as {
      data: { code: string; details: { id: string } }[];
    };
    assert.equal(created?.data[0]?.code, 'SUCCESS');
    const leads = (await client.get('/crm/v8/Leads', {
      user: USER,
      query: { fields: ['Last_Name', 'Email'], per_page: 10, page: undefined },
    })) as {
      data: Record<string, unknown>[];
    };
    assert.deepEqual(leads?.data, [{ id: created?.data[0]?.details.id, Last_Name: 'Babbage' }]);
    assert.equal(emu.stats().refreshRequests, 0);
  });

  test('other API errors: API_ERROR with status, Zoho code and message; no refresh, no retry', async () => {
    const emu = await emulator();
    const auth = authFor(emu, sqliteStore());
    const code = await emu.createGrantCode({
      clientId: CLIENT.clientId,
      user: USER,
      scopes: ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ'],
    });
    await auth.exchangeGrantToken(code, { user: USER });
    const client = new ZohoClient({ auth });
    const module = await rejectsWith(client.get('/crm/v8/Unicorns', { user: USER }), ErrorCode.API_ERROR);
    assert.deepEqual([module.status, module.apiCode], [400, 'INVALID_MODULE']);
    assert.match(module.message, /the module name given seems to be invalid/);
    const scope = await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.API_ERROR);
    assert.deepEqual([scope.status, scope.apiCode], [401, 'OAUTH_SCOPE_MISMATCH']);
    const invalid = await rejectsWith(
      client.request('POST', '/crm/v8/Leads', { user: USER, body: { data: [{}] } }),
      ErrorCode.API_ERROR,
    );
    // Record-level errors carry no top-level code: the first record's code is reported.
    assert.deepEqual([invalid.status, invalid.apiCode], [400, 'MANDATORY_NOT_FOUND']);
    assert.equal(emu.stats().refreshRequests, 0);
    assert.equal(emu.stats().apiRequests, 3);
  });

  for (const deadTokenError of ['INVALID_TOKEN', 'AUTHENTICATION_FAILURE'] as const) {
    test(`a 401 ${deadTokenError} refreshes once and retries once`, async () => {
      const emu = await emulator({ deadTokenError });
      const store = sqliteStore();
      const auth = authFor(emu, store);
      const token = await login(emu, auth, USER);
      const client = new ZohoClient({ auth });
      emu.expireAccessTokens(); // Zoho kills the token; our cache still believes it valid
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          client.get<Users>('/crm/v8/users', { user: USER, query: { type: 'CurrentUser' } }),
        ),
      );
      assert.ok(results.every((r) => r?.users[0]?.email === USER));
      const stats = emu.stats();
      assert.equal(stats.refreshRequests, 1);
      assert.equal(stats.byError[deadTokenError], 10);
      assert.equal(stats.apiRequests, 20);
      const row = await store.findTokenById(token.id!);
      assert.notEqual(row?.accessToken, token.accessToken);
      assert.equal(emu.tokenInfo(row!.accessToken!)?.user, USER);
    });
  }

  test('an access token evicted by the live-token cap is replaced transparently', async () => {
    const emu = await emulator({ limits: { liveAccessTokensPerRefreshToken: 1 } });
    const auth = authFor(emu, sqliteStore());
    const token = await login(emu, auth, USER);
    // Someone else mints from the same refresh token (a copy of it elsewhere): ours is evicted.
    const elsewhere = authFor(emu, new MemoryStore());
    await elsewhere.getAccessToken(
      new OAuthToken({
        clientId: CLIENT.clientId,
        clientSecret: CLIENT.clientSecret,
        refreshToken: token.refreshToken,
      }),
    );
    assert.equal(emu.stats().accessTokensEvicted, 1);
    const me = await new ZohoClient({ auth }).get<Users>('/crm/v8/users', {
      user: USER,
      query: { type: 'CurrentUser' },
    });
    assert.equal(me?.users[0]?.email, USER);
    assert.equal(emu.stats().byError['INVALID_TOKEN'], 1);
    assert.equal(emu.stats().refreshRequests, 2, "the other copy's refresh, then ours");
  });

  test('revoked by another process: the 401 leads to AUTH_REQUIRED', async () => {
    const emu = await emulator();
    const file = dbFile();
    const mine = authFor(emu, sqliteStore(file));
    await login(emu, mine, USER);
    const client = new ZohoClient({ auth: mine });
    await client.get('/crm/v8/org', { user: USER });
    await authFor(emu, sqliteStore(file)).revoke({ user: USER });
    await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.AUTH_REQUIRED);
    assert.equal(emu.stats().refreshRequests, 0);
  });

  test('a token the API keeps rejecting: one forced refresh, then API_ERROR without refresh loops', async () => {
    const emu = await emulator({ dataCenters: ['us', 'eu'] });
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const token = await login(emu, auth, USER);
    // A wrong API domain (another data center's, known as Zoho's are) answers INVALID_TOKEN to every token.
    await store.saveToken(new OAuthToken({ id: token.id!, apiDomain: emu.environmentFor('eu').apiDomain }));
    const client = new ZohoClient({ auth: authFor(emu, store, { environments: [emu.environmentFor('eu')] }) });
    const first = await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.API_ERROR);
    assert.deepEqual([first.status, first.apiCode], [401, 'INVALID_TOKEN']);
    assert.equal(emu.stats().refreshRequests, 1);
    for (let i = 0; i < 5; i++) {
      const again = await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.API_ERROR);
      assert.equal(again.status, 401);
      assert.ok(again.cause instanceof ZohoTokenError && again.cause.code === ErrorCode.THROTTLED);
    }
    assert.equal(emu.stats().refreshRequests, 1, 'no refresh storm');
    emu.clock.advance(HOUR);
    await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.API_ERROR);
    assert.equal(emu.stats().refreshThrottled, 0);
  });

  test('transport failures: NETWORK, timeouts, 5xx pages, malformed JSON', async () => {
    const emu = await emulator();
    const auth = authFor(emu, sqliteStore());
    await login(emu, auth, USER);
    const client = new ZohoClient({ auth, timeoutMs: 100, rateLimit: { maxRetries: 0 } });
    emu.faults.inject({ kind: 'reset', target: 'api', times: 1 });
    await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.NETWORK);
    emu.faults.inject({ kind: 'latency', ms: 400, target: 'api', times: 1 });
    const timeout = await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.NETWORK);
    assert.match(timeout.message, /GET http:\/\/127\.0\.0\.1:\d+\/crm\/v8\/org got no answer/);
    emu.faults.inject({ kind: 'status', status: 503, target: 'api', times: 1 });
    const page = await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.API_ERROR);
    assert.deepEqual([page.status, page.apiCode], [503, undefined]);
    emu.faults.inject({ kind: 'throttle', target: 'api', times: 1 });
    // Retries after a 429 are zoho-client-rate-limit.test.ts's; with none, the first 429 is final.
    const throttled = await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.RATE_LIMITED);
    assert.deepEqual([throttled.status, throttled.apiCode, throttled.retryAfterMs], [429, 'TOO_MANY_REQUESTS', 1000]);
    emu.faults.inject({ kind: 'malformed', target: 'api', times: 1 });
    await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.MALFORMED_RESPONSE);
    const org = (await client.get('/crm/v8/org', { user: USER })) as { org: { company_name: string }[] };
    assert.equal(org.org[0]?.company_name, 'Emulated Org');
    const aborted = new AbortController();
    aborted.abort();
    await rejectsWith(client.get('/crm/v8/org', { user: USER, signal: aborted.signal }), ErrorCode.ABORTED);
  });

  test('arguments are checked: a path only, one principal, a real auth', async () => {
    const emu = await emulator();
    const auth = authFor(emu, sqliteStore());
    const client = new ZohoClient({ auth });
    for (const path of ['https://evil.example/crm/v8/org', '//evil.example/x', 'crm/v8/org']) {
      assert.equal((await rejectsWith(client.get(path, { user: USER }), ErrorCode.INVALID_ARGUMENT)).field, 'path');
    }
    await rejectsWith(client.get('/crm/v8/org', {}), ErrorCode.INVALID_ARGUMENT);
    await rejectsWith(client.get('/crm/v8/org', { user: USER, id: '1' }), ErrorCode.INVALID_ARGUMENT);
    await rejectsWith(client.request('GE T', '/crm/v8/org', { user: USER }), ErrorCode.INVALID_ARGUMENT);
    assert.throws(
      () => new ZohoClient({ auth: {} as never }),
      (e: unknown) => e instanceof ZohoTokenError && e.field === 'auth',
    );
    await rejectsWith(client.get('/crm/v8/org', { user: 'nobody@example.com' }), ErrorCode.AUTH_REQUIRED);
    assert.equal(emu.stats().apiRequests, 0);
    assert.deepEqual(SCOPES.length, 3);
  });
});
