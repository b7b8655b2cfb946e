// emu.fetch: the emulator as a web-standard handler, the same routes as its listeners with no socket.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { ErrorCode, MemoryStore, ZohoClient } from 'zoho-token-store';
import type { RequestEvent } from 'zoho-token-store/emulator';
import { CLIENT, HOUR, REDIRECT, SCOPES, authFor, emulator, login } from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';

const USER = 'ada.lovelace@example.com';

type Users = { users: { email: string }[] };

/** What a caller can see of an answer; headers only those the emulator sets (not the socket's keep-alive ones). */
async function seen(response: Response): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'content-length', 'cache-control', 'pragma', 'location', 'allow', 'date']) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { status: response.status, headers, body: await response.text() };
}

/** The rejection of `promise`, which must be a TypeError "fetch failed"; returns its cause's code. */
async function fetchFailure(promise: Promise<unknown>): Promise<unknown> {
  const error = await promise.then(
    () => assert.fail('expected the fetch to fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TypeError, `expected a TypeError, got ${String(error)}`);
  assert.equal(error.message, 'fetch failed');
  return (error.cause as { code?: unknown } | undefined)?.code;
}

/** A loopback port nobody listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('emu.fetch', () => {
  test('ZohoAuth and ZohoClient with fetch: emu.fetch log in, refresh and call the CRM with no socket', async (t) => {
    const emu = await emulator();
    // Nothing may fall back to the global fetch (a socket).
    t.mock.method(globalThis, 'fetch', () => Promise.reject(new Error('global fetch used')));
    const auth = authFor(emu, new MemoryStore(), { fetch: emu.fetch });

    // Web flow: the consent page answers a 302 (not followed) to the callback, with the grant code.
    emu.setAutoApprove(USER);
    const consent = await emu.fetch(auth.authorizationUrl({ scopes: SCOPES, state: 'st-1' }));
    assert.equal(consent.status, 302);
    const callback = new URL(consent.headers.get('location') ?? '');
    assert.equal(callback.origin + callback.pathname, REDIRECT);
    assert.equal(callback.searchParams.get('state'), 'st-1');
    assert.equal(callback.searchParams.get('accounts-server'), emu.url);
    const token = await auth.exchangeCallback(callback, { state: 'st-1', user: USER });
    assert.equal(token.userName, USER);
    assert.equal(emu.tokenInfo(token.accessToken!)?.user, USER);
    assert.equal(emu.refreshTokensOf({ clientId: CLIENT.clientId, user: USER }).length, 1);

    // An hour later the access token has expired: the next use refreshes it.
    emu.clock.advance(HOUR);
    const fresh = await auth.getAccessToken({ user: USER });
    assert.notEqual(fresh, token.accessToken);
    assert.equal(emu.tokenInfo(fresh)?.user, USER);

    const client = new ZohoClient({ auth, fetch: emu.fetch });
    const me = await client.get<Users>('/crm/v8/users', { user: USER, query: { type: 'CurrentUser' } });
    assert.equal(me?.users[0]?.email, USER);
    const scope = await rejectsWith(client.get('/crm/v8/settings/modules', { user: USER }), ErrorCode.API_ERROR);
    assert.deepEqual([scope.status, scope.apiCode], [401, 'OAUTH_SCOPE_MISMATCH']);

    // A Self Client code goes the same way.
    const grace = await login(emu, auth, 'grace@example.com');
    assert.equal(grace.userName, 'grace@example.com');

    const stats = emu.stats();
    assert.deepEqual([stats.grantSuccesses, stats.refreshSuccesses, stats.apiSuccesses, stats.apiErrors], [2, 1, 1, 1]);
    assert.equal(stats.byDataCenter['us'], stats.requests);
  });

  test('the same request over the socket and through emu.fetch gets the same answer', async () => {
    const emu = await emulator({ maxBodyBytes: 1024 });
    const authQuery = new URLSearchParams({
      client_id: CLIENT.clientId,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: SCOPES.join(','),
      state: 'st-2',
    });
    const cases: [string, RequestInit][] = [
      ['/', {}],
      ['/', { method: 'HEAD' }],
      [`/oauth/v2/auth?${authQuery}`, {}],
      ['/oauth/v2/auth?client_id=1000.UNKNOWN', {}],
      ['/oauth/v2/auth/decision', { method: 'POST', body: new URLSearchParams([...authQuery, ['decision', 'deny']]) }],
      [
        '/oauth/v2/token',
        { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', client_id: '1000.NOPE' }) },
      ],
      ['/oauth/v2/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant' }],
      ['/oauth/v2/token', { method: 'POST', body: 'x'.repeat(2048) }],
      ['/oauth/v2/token', {}],
      ['/crm/v8/users', {}],
      ['/crm/v8/users', { headers: { authorization: 'Zoho-oauthtoken 1000.dead' } }],
      ['/crm/nope', {}],
      ['/nope', {}],
    ];
    for (const [path, init] of cases) {
      const what = `${init.method ?? 'GET'} ${path}`;
      const socket = await seen(await fetch(new URL(path, emu.url), { ...init, redirect: 'manual' }));
      const direct = await seen(await emu.fetch(new URL(path, emu.url), { ...init, redirect: 'manual' }));
      assert.deepEqual(direct, socket, what);
    }
    // Spot checks that the answers are the ones meant.
    const check = async (path: string, init: RequestInit = {}) => seen(await emu.fetch(new URL(path, emu.url), init));
    const consent = await check(`/oauth/v2/auth?${authQuery}`);
    assert.equal(consent.headers['content-type'], 'text/html;charset=UTF-8');
    assert.match(consent.body, /id="approve-form"/);
    const denied = await check('/oauth/v2/auth/decision', {
      method: 'POST',
      body: new URLSearchParams([...authQuery, ['decision', 'deny']]),
    });
    assert.equal(denied.status, 302);
    assert.equal(denied.headers['location'], `${REDIRECT}?error=access_denied&state=st-2`);
    const strict = emu.fetch(new URL('/oauth/v2/auth/decision', emu.url), {
      method: 'POST',
      body: new URLSearchParams([...authQuery, ['decision', 'deny']]),
      redirect: 'error',
    });
    assert.equal(await fetchFailure(strict), undefined, 'redirect: error refuses the 302 as fetch does');
    const tooLarge = await emu.fetch(new URL('/oauth/v2/token', emu.url), { method: 'POST', body: 'x'.repeat(2048) });
    assert.deepEqual([tooLarge.status, tooLarge.headers.get('connection')], [413, 'close']);
    assert.deepEqual(await tooLarge.json(), { status: 'failure', error: 'request_too_large' });
    const head = await emu.fetch(emu.url, { method: 'HEAD' });
    assert.deepEqual([head.status, head.body, head.headers.get('content-length')], [200, null, '43']);
    assert.equal(head.headers.get('date'), new Date(emu.clock.now()).toUTCString());
    assert.equal(head.url, `${emu.url}/`);
    assert.equal(head.statusText, 'OK');

    // Both transports count alike: every case twice, the spot checks once.
    const stats = emu.stats();
    assert.equal(stats.requests, cases.length * 2 + 5);
    assert.equal(stats.byEndpoint['GET /'], 2);
    assert.equal(stats.byEndpoint['HEAD /'], 3);
    assert.equal(stats.byError['invalid_request'], 2);
  });

  test('the origin picks the data center; any other origin fails like an unreachable host', async () => {
    const emu = await emulator({ dataCenters: ['us', 'eu'] });
    const where = async (base: string) => ((await (await emu.fetch(base)).json()) as { location: string }).location;
    assert.equal(await where(emu.url), 'us');
    assert.equal(await where(`${emu.environmentFor('eu').accountsUrl}/`), 'eu');

    const port = await deadPort();
    const elsewhere = `http://127.0.0.1:${port}/oauth/v2/token`;
    assert.equal(await fetchFailure(emu.fetch(elsewhere, { method: 'POST' })), 'ECONNREFUSED');
    assert.equal(await fetchFailure(fetch(elsewhere, { method: 'POST' })), 'ECONNREFUSED', 'a real fetch agrees');
    // Same port, other host name: another origin.
    assert.equal(await fetchFailure(emu.fetch(emu.url.replace('127.0.0.1', 'localhost'))), 'ECONNREFUSED');
    assert.equal(emu.stats().requests, 2, 'refused requests never arrive');

    // A mis-pointed ZohoAuth fails the same way with and without sockets.
    const environment = { ...emu.environment, accountsUrl: `http://127.0.0.1:${port}` };
    const code = () => emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: SCOPES });
    const viaFetch = await rejectsWith(
      authFor(emu, new MemoryStore(), { environment, fetch: emu.fetch }).exchangeGrantToken(await code()),
      ErrorCode.NETWORK,
    );
    const viaSocket = await rejectsWith(
      authFor(emu, new MemoryStore(), { environment }).exchangeGrantToken(await code()),
      ErrorCode.NETWORK,
    );
    const causeCode = (e: Error) => (e.cause as { code?: unknown } | undefined)?.code;
    assert.deepEqual([causeCode(viaFetch), causeCode(viaSocket)], ['ECONNREFUSED', 'ECONNREFUSED']);
    assert.equal(emu.stats().grantRequests, 0);

    // After close() nothing listens any more.
    await emu.close();
    assert.equal(await fetchFailure(emu.fetch(emu.url)), 'ECONNREFUSED');
  });

  test('a dropped connection rejects with TypeError, counted and observed as over the socket', async () => {
    const events: RequestEvent[] = [];
    const emu = await emulator({ observer: { onRequest: (e) => events.push(e) } });
    const store = new MemoryStore();
    const auth = authFor(emu, store, { fetch: emu.fetch });
    const token = await login(emu, auth, USER);
    emu.clock.advance(HOUR);

    emu.faults.inject({ kind: 'reset', target: 'token', times: 2 });
    const refresh = () =>
      emu.fetch(new URL('/oauth/v2/token', emu.url), {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: CLIENT.clientId,
          client_secret: CLIENT.clientSecret,
          refresh_token: token.refreshToken!,
        }),
      });
    assert.equal(await fetchFailure(refresh()), 'UND_ERR_SOCKET');
    assert.equal(
      await fetchFailure(fetch(new URL('/oauth/v2/token', emu.url), { method: 'POST' })),
      'UND_ERR_SOCKET',
      'the socket drops the same way',
    );
    assert.deepEqual([emu.stats().refreshFaulted, emu.stats().faults.reset], [1, 2]);
    assert.deepEqual(events.at(-1), {
      category: 'refresh',
      dc: 'us',
      token: token.refreshToken,
      fault: 'reset',
      outcome: 'faulted',
    });

    // Through ZohoAuth (no retries): a network error, and the token is refreshed once the fault is gone.
    emu.faults.inject({ kind: 'reset', target: 'token', times: 1 });
    const error = await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.NETWORK);
    assert.match(error.message, /other side closed/);
    // (A fresh ZohoAuth: this one holds back for a moment after a failure.)
    const fresh = await authFor(emu, store, { fetch: emu.fetch }).getAccessToken({ user: USER });
    assert.equal(emu.tokenInfo(fresh)?.user, USER);
    assert.deepEqual([emu.stats().refreshFaulted, emu.stats().refreshSuccesses], [2, 1]);
  });

  test('an aborted signal rejects at once during an injected delay; close() during one drops it', async () => {
    const emu = await emulator();
    emu.faults.inject({ kind: 'latency', ms: 30_000, target: 'api', times: 2 });
    const controller = new AbortController();
    const started = Date.now();
    const pending = emu.fetch(new URL('/crm/v8/users', emu.url), { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await pending.then(
      () => assert.fail('expected an abort'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof DOMException, String(error));
    assert.equal(error.name, 'AbortError');
    assert.ok(Date.now() - started < 5_000, 'did not wait for the delay');
    assert.deepEqual([emu.stats().apiRequests, emu.stats().faults.latency], [1, 1]);

    // An already aborted signal never reaches the emulator; a timeout rejects with its own reason.
    const aborted = emu.fetch(emu.url, { signal: AbortSignal.abort() });
    await assert.rejects(aborted, { name: 'AbortError' });
    assert.equal(emu.stats().requests, 1);
    const timedOut = emu.fetch(new URL('/crm/v8/users', emu.url), { signal: AbortSignal.timeout(50) });
    await assert.rejects(timedOut, { name: 'TimeoutError' });
    assert.deepEqual([emu.stats().apiRequests, emu.stats().faults.latency], [2, 2]);

    // close() while a request waits: the connection is dropped, as the listener's would be.
    emu.faults.inject({ kind: 'latency', ms: 30_000 });
    const waiting = emu.fetch(new URL('/crm/v8/users', emu.url));
    setTimeout(() => void emu.close(), 50);
    assert.equal(await fetchFailure(waiting), 'UND_ERR_SOCKET');
  });
});
