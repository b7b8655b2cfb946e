import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { isZohoTokenError } from '../src/errors.js';
import {
  startZohoEmulator,
  type RequestEvent,
  type TokenIssuedEvent,
  type ZohoEmulator,
  type ZohoEmulatorOptions,
} from 'zoho-token-store/emulator';

const CLIENT = {
  clientId: '1000.EMULATORTESTCLIENT0000000000001',
  clientSecret: 'secret-1',
  redirectUris: ['http://localhost:3000/cb'],
};
const REDIRECT = CLIENT.redirectUris[0]!;
const USER = 'a@x.com';
const ALL_SCOPES = ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ', 'ZohoCRM.org.READ', 'ZohoCRM.settings.ALL'];
const TOKEN_SHAPE = /^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$/;
const THROTTLED = {
  error: 'Access Denied',
  error_description: 'You have made too many requests continuously. Please try again after some time.',
  status: 'failure',
};
const MINUTE = 60_000;

type Json = Record<string, unknown>;
type Transport = 'query' | 'form' | 'multipart' | 'basic';

async function start(t: TestContext, options: ZohoEmulatorOptions = {}): Promise<ZohoEmulator> {
  const emu = await startZohoEmulator({ clients: [CLIENT], ...options });
  t.after(() => emu.close());
  return emu;
}

/** POST to the token endpoint, the parameters carried as `how` says. */
async function tokenCall(base: string, params: Record<string, string>, how: Transport = 'form'): Promise<Json> {
  const url = new URL('/oauth/v2/token', base);
  const init: RequestInit = { method: 'POST' };
  if (how === 'query') {
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  } else if (how === 'form') {
    init.body = new URLSearchParams(params);
  } else if (how === 'multipart') {
    const form = new FormData();
    for (const [k, v] of Object.entries(params)) form.append(k, v);
    init.body = form;
  } else {
    const { client_id: id = '', client_secret: secret = '', ...rest } = params;
    init.headers = { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` };
    init.body = new URLSearchParams(rest);
  }
  const res = await fetch(url, init);
  assert.equal(res.status, 200, 'token endpoint errors are HTTP 200 too');
  return (await res.json()) as Json;
}

const exchange = (base: string, code: string, extra: Record<string, string> = {}, how?: Transport) =>
  tokenCall(
    base,
    {
      grant_type: 'authorization_code',
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
      code,
      ...extra,
    },
    how,
  );

const refresh = (base: string, refreshToken: string, how?: Transport, client = CLIENT) =>
  tokenCall(
    base,
    {
      grant_type: 'refresh_token',
      client_id: client.clientId,
      client_secret: client.clientSecret,
      refresh_token: refreshToken,
    },
    how,
  );

async function selfClient(
  emu: ZohoEmulator,
  scopes: readonly string[] = ALL_SCOPES,
  user = USER,
): Promise<{ access: string; refresh: string }> {
  const body = await exchange(emu.url, await emu.createGrantCode({ clientId: CLIENT.clientId, user, scopes }));
  assert.match(String(body['access_token']), TOKEN_SHAPE);
  assert.match(String(body['refresh_token']), TOKEN_SHAPE);
  return { access: body['access_token'] as string, refresh: body['refresh_token'] as string };
}

async function api(
  base: string,
  path: string,
  token?: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Json | undefined }> {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('authorization', `Zoho-oauthtoken ${token}`);
  const res = await fetch(new URL(path, base), { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as Json) };
}

const INVALID_TOKEN = { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' };
const AUTH_FAILURE = { code: 'AUTHENTICATION_FAILURE', details: {}, message: 'Authentication failed', status: 'error' };

function authUrl(base: string, extra: Record<string, string> = {}): string {
  const url = new URL('/oauth/v2/auth', base);
  const params = {
    client_id: CLIENT.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: ALL_SCOPES.join(','),
    access_type: 'offline',
    state: 'st-1',
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

/** Reads the consent page's approve (or deny) form and posts it like a browser. */
async function consent(page: string, base: string, decision: 'approve' | 'deny', user = USER): Promise<Response> {
  const form = new RegExp(`<form id="${decision}-form" method="POST" action="([^"]+)">([\\s\\S]*?)</form>`).exec(page);
  assert.ok(form, `the page has a ${decision} form`);
  const fields = new URLSearchParams();
  for (const m of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields.append(m[1]!, decodeHtml(m[2]!));
  if (decision === 'approve') fields.append('user', user);
  fields.append('decision', decision);
  return fetch(new URL(decodeHtml(form[1]!), base), { method: 'POST', body: fields, redirect: 'manual' });
}

function decodeHtml(s: string): string {
  return s.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));
}

describe('Self Client and token endpoint', () => {
  test('Self Client code exchange returns Zoho’s token shape', async (t) => {
    const emu = await start(t);
    const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: ['ZohoCRM.modules.ALL'] });
    assert.match(code, TOKEN_SHAPE);
    const body = await exchange(emu.url, code);
    assert.deepEqual(Object.keys(body), [
      'access_token',
      'refresh_token',
      'scope',
      'api_domain',
      'token_type',
      'expires_in',
    ]);
    assert.equal(body['api_domain'], emu.url);
    assert.equal(body['token_type'], 'Bearer');
    assert.equal(body['expires_in'], 3600);
    assert.equal(body['scope'], 'ZohoCRM.modules.ALL');
    assert.deepEqual(emu.environment, {
      name: 'emulator-us',
      location: 'us',
      kind: 'custom',
      accountsUrl: emu.url,
      apiDomain: emu.url,
    });
    assert.match(emu.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('online Self Client code gives no refresh token', async (t) => {
    const emu = await start(t);
    const code = await emu.createGrantCode({
      clientId: CLIENT.clientId,
      user: USER,
      scopes: 'ZohoCRM.users.READ',
      accessType: 'online',
    });
    const body = await exchange(emu.url, code);
    assert.match(String(body['access_token']), TOKEN_SHAPE);
    assert.equal('refresh_token' in body, false);
  });

  test('a code is single use', async (t) => {
    const emu = await start(t);
    const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: ALL_SCOPES });
    assert.ok((await exchange(emu.url, code))['access_token']);
    assert.deepEqual(await exchange(emu.url, code), { error: 'invalid_code' });
  });

  test('Self Client code expires after 3 minutes of emulator time', async (t) => {
    const emu = await start(t, { now: Date.UTC(2025, 0, 1) });
    assert.equal(emu.clock.now(), Date.UTC(2025, 0, 1));
    const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: ALL_SCOPES });
    const late = await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: ALL_SCOPES });
    emu.clock.advance(3 * MINUTE - 1);
    assert.ok((await exchange(emu.url, code))['access_token']);
    emu.clock.advance(1);
    assert.deepEqual(await exchange(emu.url, late), { error: 'invalid_code' });
  });

  test('parameters via query, urlencoded, multipart and Basic auth', async (t) => {
    const emu = await start(t);
    for (const how of ['query', 'form', 'multipart', 'basic'] as const) {
      const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: ALL_SCOPES });
      const body = await exchange(emu.url, code, {}, how);
      assert.match(String(body['refresh_token']), TOKEN_SHAPE, how);
      const again = await refresh(emu.url, body['refresh_token'] as string, how);
      assert.match(String(again['access_token']), TOKEN_SHAPE, how);
    }
    assert.equal(emu.stats().grantSuccesses, 4);
    assert.equal(emu.stats().refreshSuccesses, 4);
  });

  test('client errors: wrong secret, unknown client, missing params, unknown grant type', async (t) => {
    const emu = await start(t);
    const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: ALL_SCOPES });
    const base = { grant_type: 'authorization_code', code };
    assert.deepEqual(await tokenCall(emu.url, { ...base, client_id: CLIENT.clientId, client_secret: 'nope' }), {
      error: 'invalid_client_secret',
    });
    assert.deepEqual(await tokenCall(emu.url, { ...base, client_id: '1000.UNKNOWN', client_secret: 'x' }), {
      error: 'invalid_client',
    });
    assert.deepEqual(await tokenCall(emu.url, { ...base, client_id: CLIENT.clientId }), { error: 'invalid_request' });
    assert.deepEqual(
      await tokenCall(emu.url, { client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, code }),
      { error: 'invalid_request' },
    );
    assert.deepEqual(
      await tokenCall(emu.url, {
        ...base,
        grant_type: 'password',
        client_id: CLIENT.clientId,
        client_secret: CLIENT.clientSecret,
      }),
      {
        error: 'unsupported_grant_type',
      },
    );
    // None of these consumed the code.
    assert.ok((await exchange(emu.url, code))['access_token']);
    const stats = emu.stats();
    assert.deepEqual(stats.byError, {
      invalid_client_secret: 1,
      invalid_client: 1,
      invalid_request: 2,
      unsupported_grant_type: 1,
    });
    assert.equal(stats.grantErrors, 3);
    assert.equal(stats.tokenRequests, 6);
  });

  test('refresh keeps the refresh token: no rotation, no expiry', async (t) => {
    const emu = await start(t);
    const { refresh: rt } = await selfClient(emu);
    const first = await refresh(emu.url, rt);
    assert.deepEqual(Object.keys(first), ['access_token', 'scope', 'api_domain', 'token_type', 'expires_in']);
    emu.clock.advance(400 * 24 * 60 * MINUTE);
    const later = await refresh(emu.url, rt);
    assert.match(String(later['access_token']), TOKEN_SHAPE);
    assert.notEqual(later['access_token'], first['access_token']);
    assert.deepEqual(await refresh(emu.url, '1000.deadbeef'), { error: 'invalid_code' });
  });

  test('legacy expires_in_sec shape', async (t) => {
    const emu = await start(t, { legacyExpiresInSec: true, accessTokenLifetimeSec: 1800 });
    const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: ALL_SCOPES });
    const body = await exchange(emu.url, code);
    assert.equal(body['expires_in_sec'], 1800);
    assert.equal(body['expires_in'], 1_800_000);
  });
});

describe('web flow', () => {
  test('consent page → Approve → 302 with code, location, accounts-server, state; then exchange', async (t) => {
    const emu = await start(t);
    const page = await fetch(authUrl(emu.url));
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, />Accept</);
    assert.match(html, />Reject</);
    const approved = await consent(html, emu.url, 'approve');
    assert.equal(approved.status, 302);
    const location = new URL(approved.headers.get('location')!);
    assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
    assert.deepEqual([...location.searchParams.keys()], ['code', 'location', 'accounts-server', 'state']);
    assert.match(location.searchParams.get('code')!, TOKEN_SHAPE);
    assert.equal(location.searchParams.get('location'), 'us');
    assert.equal(location.searchParams.get('accounts-server'), emu.url);
    assert.ok(approved.headers.get('location')!.includes(`accounts-server=${encodeURIComponent(emu.url)}`));
    assert.equal(location.searchParams.get('state'), 'st-1');

    const code = location.searchParams.get('code')!;
    assert.deepEqual(await exchange(emu.url, code, { redirect_uri: 'http://localhost:3000/other' }), {
      error: 'invalid_redirect_uri',
    });
    assert.deepEqual(
      await exchange(emu.url, code),
      { error: 'invalid_redirect_uri' },
      'a web-flow code needs its redirect_uri',
    );
    const body = await exchange(emu.url, code, { redirect_uri: REDIRECT });
    assert.match(String(body['refresh_token']), TOKEN_SHAPE);
    const me = await api(emu.url, '/crm/v8/users?type=CurrentUser', body['access_token'] as string);
    assert.equal((me.body?.['users'] as Json[])[0]?.['email'], USER);
  });

  test('the consent page: app name, account chooser, scopes in words, its own CSP', async (t) => {
    const emu = await start(t, {
      clients: [{ ...CLIENT, name: 'Acme <Portal>' }],
      defaultUser: 'd@x.com',
      users: [{ email: 'u1@x.com' }, { email: 'd@x.com' }],
    });
    const page = await fetch(authUrl(emu.url, { login_hint: 'h@x.com' }));
    const html = await page.text();
    assert.match(html, /<span class="app-name">Acme &#60;Portal&#62;<\/span> would like to access/);
    const accounts = [...html.matchAll(/<input type="radio" name="user" value="([^"]*)"( checked)?>/g)];
    assert.deepEqual(
      accounts.map((m) => [m[1], m[2] !== undefined]),
      [
        ['h@x.com', true],
        ['d@x.com', false],
        ['u1@x.com', false],
        ['', false],
      ],
      'login_hint first and selected, then defaultUser, then the org\'s users, then "Use another account"',
    );
    assert.match(html, /<label class="other-email" for="user-other">/);
    assert.match(html, /View, create, update and delete records in all modules \(Zoho CRM\)/);
    assert.match(html, /View users of your organization \(Zoho CRM\)/);
    assert.match(html, /View, create, update and delete settings \(Zoho CRM\)/);
    assert.doesNotMatch(html, /<script|<link|src=/, 'no script, no external asset');
    // The inline style is allowed by its hash; the decision may redirect to the client's origin.
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const hash = createHash('sha256').update(style, 'utf8').digest('base64');
    assert.equal(
      page.headers.get('content-security-policy'),
      `default-src 'none'; style-src 'sha256-${hash}'; form-action 'self' http://localhost:3000; frame-ancestors 'none'; base-uri 'none'`,
    );

    // "Use another account": the chooser's user is empty and the typed e-mail is used.
    const form = /<form id="approve-form" method="POST" action="([^"]+)">([\s\S]*?)<\/form>/.exec(html)!;
    const fields = new URLSearchParams();
    for (const m of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
      fields.append(m[1]!, decodeHtml(m[2]!));
    fields.append('user', '');
    fields.append('user_other', 'other@x.com');
    fields.append('decision', 'approve');
    const approved = await fetch(new URL(decodeHtml(form[1]!), emu.url), {
      method: 'POST',
      body: fields,
      redirect: 'manual',
    });
    const code = new URL(approved.headers.get('location')!).searchParams.get('code')!;
    const body = await exchange(emu.url, code, { redirect_uri: REDIRECT });
    assert.equal(emu.tokenInfo(body['access_token'] as string)?.user, 'other@x.com');

    // No test user: an e-mail box; the app name defaults to the client id.
    const plain = await start(t);
    const bare = await (await fetch(authUrl(plain.url))).text();
    assert.match(bare, /<input id="user-email" type="email" name="user" required autocomplete="email">/);
    assert.match(bare, new RegExp(`<span class="app-name">${CLIENT.clientId}</span>`));
  });

  test('a client name is checked', async () => {
    await assert.rejects(
      startZohoEmulator({ clients: [{ ...CLIENT, name: ' ' }] }),
      (e) => isZohoTokenError(e, 'INVALID_ARGUMENT') && e.field === 'name',
    );
  });

  test('Deny → error=access_denied with state', async (t) => {
    const emu = await start(t);
    const html = await (await fetch(authUrl(emu.url))).text();
    const denied = await consent(html, emu.url, 'deny');
    assert.equal(denied.status, 302);
    const location = new URL(denied.headers.get('location')!);
    assert.equal(location.searchParams.get('error'), 'access_denied');
    assert.equal(location.searchParams.get('state'), 'st-1');
    assert.equal(location.searchParams.get('code'), null);
  });

  test('unknown client or unregistered redirect_uri: an error page, never a redirect', async (t) => {
    const emu = await start(t);
    const cases: Record<string, string>[] = [{ client_id: '1000.NOPE' }, { redirect_uri: 'http://evil.example/cb' }];
    for (const extra of cases) {
      const res = await fetch(authUrl(emu.url, extra), { redirect: 'manual' });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('location'), null);
      assert.match(res.headers.get('content-type')!, /text\/html/);
      await res.text();
    }
  });

  test('web-flow code expires after 2 minutes', async (t) => {
    const emu = await start(t);
    const location = new URL(await emu.approve(authUrl(emu.url), { user: USER }));
    emu.clock.advance(2 * MINUTE);
    assert.deepEqual(await exchange(emu.url, location.searchParams.get('code')!, { redirect_uri: REDIRECT }), {
      error: 'invalid_code',
    });
  });

  test('refresh token only with offline, only on first consent unless prompt=consent', async (t) => {
    const emu = await start(t);
    const tokensFor = async (extra: Record<string, string>): Promise<Json> => {
      const code = new URL(await emu.approve(authUrl(emu.url, extra), { user: USER })).searchParams.get('code')!;
      return exchange(emu.url, code, { redirect_uri: REDIRECT });
    };
    assert.equal('refresh_token' in (await tokensFor({ access_type: 'online' })), false);
    assert.equal('refresh_token' in (await tokensFor({})), true);
    assert.equal('refresh_token' in (await tokensFor({})), false, 'second consent: no new refresh token');
    assert.equal('refresh_token' in (await tokensFor({ prompt: 'consent' })), true);
    assert.equal(emu.refreshTokensOf({ clientId: CLIENT.clientId, user: USER }).length, 2);
  });

  test('autoApprove skips the page; approve()/deny() need no HTML', async (t) => {
    const emu = await start(t, { autoApprove: { user: 'b@x.com' } });
    const res = await fetch(authUrl(emu.url), { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.match(new URL(res.headers.get('location')!).searchParams.get('code')!, TOKEN_SHAPE);
    emu.setAutoApprove(undefined);
    assert.equal((await fetch(authUrl(emu.url), { redirect: 'manual' })).status, 200);
    assert.equal(new URL(await emu.deny(authUrl(emu.url))).searchParams.get('error'), 'access_denied');
    await assert.rejects(emu.approve(authUrl(emu.url, { client_id: 'x' }), { user: USER }), (e) =>
      isZohoTokenError(e, 'INVALID_CLIENT'),
    );
  });

  test('11th grant code in 10 minutes is refused, both paths; fine again later', async (t) => {
    const emu = await start(t);
    for (let i = 0; i < 9; i++)
      await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: ALL_SCOPES });
    await emu.approve(authUrl(emu.url), { user: USER }); // the 10th
    await assert.rejects(emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: ALL_SCOPES }), (e) => {
      assert.ok(isZohoTokenError(e, 'THROTTLED'));
      assert.equal(e.retryAfterMs, 10 * MINUTE);
      return true;
    });
    const page = await fetch(authUrl(emu.url), { redirect: 'manual' });
    assert.equal(page.status, 429);
    assert.match(await page.text(), /Grant code limit/);
    emu.clock.advance(10 * MINUTE);
    assert.match(await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: ALL_SCOPES }), TOKEN_SHAPE);
    assert.equal(emu.stats().codesIssued, 11);
  });
});

describe('limits', () => {
  test('11th refresh in 10 minutes → Access Denied; OK after 10 minutes', async (t) => {
    const emu = await start(t);
    const { refresh: rt } = await selfClient(emu);
    for (let i = 0; i < 10; i++) {
      assert.match(String((await refresh(emu.url, rt))['access_token']), TOKEN_SHAPE, `refresh ${i + 1}`);
      emu.clock.advance(1000);
    }
    assert.deepEqual(await refresh(emu.url, rt), THROTTLED);
    emu.clock.advance(10 * MINUTE - 10_000); // the first mint leaves the sliding window exactly now
    assert.match(String((await refresh(emu.url, rt))['access_token']), TOKEN_SHAPE);
    assert.deepEqual(await refresh(emu.url, rt), THROTTLED);
    const stats = emu.stats();
    assert.equal(stats.refreshRequests, 13);
    assert.equal(stats.refreshSuccesses, 11);
    assert.equal(stats.refreshThrottled, 2);
    assert.equal(stats.byError['Access Denied'], 2);
  });

  test('16th live access token evicts the oldest', async (t) => {
    const emu = await start(t, { limits: { mintsPerWindow: 100 } });
    const { access: oldest, refresh: rt } = await selfClient(emu);
    const minted: string[] = [];
    for (let i = 0; i < 14; i++) minted.push((await refresh(emu.url, rt))['access_token'] as string);
    assert.equal(emu.liveAccessTokens(rt), 15);
    assert.equal((await api(emu.url, '/crm/v8/org', oldest)).status, 200);
    minted.push((await refresh(emu.url, rt))['access_token'] as string);
    assert.equal(emu.liveAccessTokens(rt), 15);
    assert.deepEqual(await api(emu.url, '/crm/v8/org', oldest), { status: 401, body: INVALID_TOKEN });
    assert.equal((await api(emu.url, '/crm/v8/org', minted[0])).status, 200);
    assert.equal(emu.stats().accessTokensEvicted, 1);
  });

  test('expired access tokens stop counting as live and get INVALID_TOKEN', async (t) => {
    const emu = await start(t);
    const { access, refresh: rt } = await selfClient(emu);
    emu.clock.advance(3600_000 - 1);
    assert.equal((await api(emu.url, '/crm/v8/org', access)).status, 200);
    emu.clock.advance(1);
    assert.deepEqual(await api(emu.url, '/crm/v8/org', access), { status: 401, body: INVALID_TOKEN });
    assert.equal(emu.liveAccessTokens(rt), 0);
    const fresh = (await refresh(emu.url, rt))['access_token'] as string;
    assert.equal(emu.expireAccessTokens(), 1);
    assert.equal((await api(emu.url, '/crm/v8/org', fresh)).status, 401);
  });

  test('21st refresh token of a user+client removes the first and its access tokens', async (t) => {
    const emu = await start(t);
    const grants: { access: string; refresh: string }[] = [];
    for (let i = 0; i < 21; i++) {
      if (i > 0 && i % 10 === 0) emu.clock.advance(10 * MINUTE); // stay under the grant-code cap
      grants.push(await selfClient(emu));
    }
    const first = grants[0]!;
    assert.deepEqual(await refresh(emu.url, first.refresh), { error: 'invalid_code' });
    assert.deepEqual(await api(emu.url, '/crm/v8/org', first.access), { status: 401, body: INVALID_TOKEN });
    assert.match(String((await refresh(emu.url, grants[1]!.refresh))['access_token']), TOKEN_SHAPE);
    const live = emu.refreshTokensOf({ clientId: CLIENT.clientId, user: USER });
    assert.equal(live.length, 20);
    assert.equal(live[0], grants[1]!.refresh);
    assert.equal(emu.stats().refreshTokensEvicted, 1);
    // Another user of the same client has a budget of its own.
    assert.ok((await selfClient(emu, ALL_SCOPES, 'c@x.com')).refresh);
    assert.equal(emu.refreshTokensOf({ clientId: CLIENT.clientId, user: USER }).length, 20);
  });
});

describe('revoke', () => {
  test('revoke kills the refresh token and its access tokens', async (t) => {
    const emu = await start(t);
    const { access, refresh: rt } = await selfClient(emu);
    const other = await selfClient(emu);
    const res = await fetch(`${emu.url}/oauth/v2/token/revoke?token=${encodeURIComponent(rt)}`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'success' });
    assert.deepEqual(await refresh(emu.url, rt), { error: 'invalid_code' });
    assert.deepEqual(await api(emu.url, '/crm/v8/org', access), { status: 401, body: INVALID_TOKEN });
    assert.equal(emu.liveAccessTokens(rt), 0);
    assert.equal((await api(emu.url, '/crm/v8/org', other.access)).status, 200, 'other grants untouched');

    const again = await fetch(`${emu.url}/oauth/v2/token/revoke?token=${encodeURIComponent(rt)}`, { method: 'POST' });
    assert.equal(again.status, 400);
    assert.deepEqual(await again.json(), { status: 'failure', error: 'invalid_token' });

    const form = await fetch(`${emu.url}/oauth/v2/token/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token: other.refresh }),
    });
    assert.deepEqual(await form.json(), { status: 'success' });
    const stats = emu.stats();
    assert.equal(stats.revokeRequests, 3);
    assert.equal(stats.revokeSuccesses, 2);
    assert.equal(stats.revokeErrors, 1);
  });

  test('revokeAll', async (t) => {
    const emu = await start(t);
    const { access, refresh: rt } = await selfClient(emu);
    assert.equal(emu.revokeAll(), 1);
    assert.deepEqual(await refresh(emu.url, rt), { error: 'invalid_code' });
    assert.equal((await api(emu.url, '/crm/v8/org', access)).status, 401);
  });
});

describe('data centers', () => {
  const EU_CLIENT = { clientId: '1000.EUCLIENT', clientSecret: 'eu-secret', redirectUris: [REDIRECT], dc: 'eu' };

  test('each DC has its own listener; clients and tokens are bound to theirs', async (t) => {
    const emu = await start(t, { dataCenters: ['us', 'eu'], clients: [CLIENT, EU_CLIENT] });
    const eu = emu.environmentFor('eu');
    assert.deepEqual(eu, {
      name: 'emulator-eu',
      location: 'eu',
      kind: 'custom',
      accountsUrl: eu.accountsUrl,
      apiDomain: eu.accountsUrl,
    });
    assert.notEqual(eu.accountsUrl, emu.url);
    assert.equal(emu.environmentFor('us'), emu.environment);

    // The auth request starts at the US server; the redirect names the EU accounts server.
    const location = new URL(await emu.approve(authUrl(emu.url, { client_id: EU_CLIENT.clientId }), { user: USER }));
    assert.equal(location.searchParams.get('location'), 'eu');
    assert.equal(location.searchParams.get('accounts-server'), eu.accountsUrl);
    const code = location.searchParams.get('code')!;
    const params = {
      grant_type: 'authorization_code',
      client_id: EU_CLIENT.clientId,
      client_secret: EU_CLIENT.clientSecret,
      code,
      redirect_uri: REDIRECT,
    };
    assert.deepEqual(await tokenCall(emu.url, params), { error: 'invalid_client' }, 'EU client at the US server');
    const body = await tokenCall(eu.accountsUrl, params);
    assert.equal(body['api_domain'], eu.apiDomain);
    const access = body['access_token'] as string;
    assert.equal((await api(eu.apiDomain, '/crm/v8/users?type=CurrentUser', access)).status, 200);
    assert.deepEqual(await api(emu.url, '/crm/v8/users?type=CurrentUser', access), {
      status: 401,
      body: INVALID_TOKEN,
    });
    // Refresh and revoke also only at the EU server.
    const rt = body['refresh_token'] as string;
    assert.deepEqual(await refresh(emu.url, rt, 'form', EU_CLIENT), { error: 'invalid_client' });
    assert.match(String((await refresh(eu.accountsUrl, rt, 'form', EU_CLIENT))['access_token']), TOKEN_SHAPE);
    assert.equal((await fetch(`${emu.url}/oauth/v2/token/revoke?token=${rt}`, { method: 'POST' })).status, 400);
    assert.equal(emu.stats().byDataCenter['eu'], 3); // exchange, users, refresh
  });

  test('a multi-DC client works in each of its data centers; each knows only the tokens it issued', async (t) => {
    const MULTI = {
      clientId: '1000.MULTIDCCLIENT',
      clientSecret: 'multi-secret',
      redirectUris: [REDIRECT],
      dataCenters: ['us', 'eu'],
    };
    const emu = await start(t, { dataCenters: ['us', 'eu', 'in'], clients: [MULTI] });
    const us = emu.environment;
    const eu = emu.environmentFor('eu');
    const inDc = emu.environmentFor('in');
    const grant = (code: string) => ({
      grant_type: 'authorization_code',
      client_id: MULTI.clientId,
      client_secret: MULTI.clientSecret,
      code,
    });

    // Self Client codes: the home (first) data center by default, or a named one.
    const usCode = await emu.createGrantCode({ clientId: MULTI.clientId, user: USER, scopes: ALL_SCOPES });
    const euCode = await emu.createGrantCode({ clientId: MULTI.clientId, user: USER, scopes: ALL_SCOPES, dc: 'eu' });
    await assert.rejects(
      emu.createGrantCode({ clientId: MULTI.clientId, user: USER, scopes: ALL_SCOPES, dc: 'in' }),
      (error) => isZohoTokenError(error, 'INVALID_ARGUMENT') && error.field === 'dc',
    );
    // A code is known only where it was issued (and is not burnt by the wrong server).
    assert.deepEqual(await tokenCall(eu.accountsUrl, grant(usCode)), { error: 'invalid_code' });
    const usTokens = await tokenCall(us.accountsUrl, grant(usCode));
    assert.equal(usTokens['api_domain'], us.apiDomain);
    const euTokens = await tokenCall(eu.accountsUrl, grant(euCode));
    assert.equal(euTokens['api_domain'], eu.apiDomain);
    const usRt = usTokens['refresh_token'] as string;
    const euRt = euTokens['refresh_token'] as string;

    // The client is known at both accounts servers, but each refreshes only its own refresh tokens.
    assert.deepEqual(await refresh(eu.accountsUrl, usRt, 'form', MULTI), { error: 'invalid_code' });
    assert.deepEqual(await refresh(us.accountsUrl, euRt, 'form', MULTI), { error: 'invalid_code' });
    assert.match(String((await refresh(us.accountsUrl, usRt, 'form', MULTI))['access_token']), TOKEN_SHAPE);
    assert.match(String((await refresh(eu.accountsUrl, euRt, 'form', MULTI))['access_token']), TOKEN_SHAPE);
    // A data center the client is not enabled in does not know the client at all.
    assert.deepEqual(await refresh(inDc.accountsUrl, usRt, 'form', MULTI), { error: 'invalid_client' });

    // Access tokens and revoke are bound the same way.
    const usAccess = usTokens['access_token'] as string;
    assert.equal((await api(us.apiDomain, '/crm/v8/org', usAccess)).status, 200);
    assert.deepEqual(await api(eu.apiDomain, '/crm/v8/org', usAccess), { status: 401, body: INVALID_TOKEN });
    assert.equal(
      (await fetch(`${eu.accountsUrl}/oauth/v2/token/revoke?token=${usRt}`, { method: 'POST' })).status,
      400,
    );
    assert.deepEqual(emu.tokenInfo(usRt)?.dc, 'us');
    assert.deepEqual(emu.tokenInfo(euRt)?.dc, 'eu');

    // Web flow: consent at the EU accounts server issues an EU code; elsewhere, the home DC's.
    const atEu = new URL(await emu.approve(authUrl(eu.accountsUrl, { client_id: MULTI.clientId }), { user: USER }));
    assert.equal(atEu.searchParams.get('location'), 'eu');
    assert.equal(atEu.searchParams.get('accounts-server'), eu.accountsUrl);
    const atIn = new URL(await emu.approve(authUrl(inDc.accountsUrl, { client_id: MULTI.clientId }), { user: USER }));
    assert.equal(atIn.searchParams.get('location'), 'us');
    const webTokens = await tokenCall(eu.accountsUrl, {
      ...grant(atEu.searchParams.get('code')!),
      redirect_uri: REDIRECT,
    });
    assert.equal(webTokens['api_domain'], eu.apiDomain);
  });

  test('client dataCenters must be served data centers', async (t) => {
    const emu = await start(t, { dataCenters: ['us', 'eu'] });
    for (const [client, field] of [
      [{ ...CLIENT, dataCenters: ['us', 'jp'] }, 'dataCenters'],
      [{ ...CLIENT, dataCenters: [] }, 'dataCenters'],
      [{ ...CLIENT, dc: 'jp', dataCenters: ['us'] }, 'dc'],
    ] as const) {
      assert.throws(
        () => emu.addClient(client),
        (error) => isZohoTokenError(error, 'INVALID_ARGUMENT') && error.field === field,
      );
    }
  });
});

describe('CRM API', () => {
  test('users, org and Leads with their scopes', async (t) => {
    const emu = await start(t, { companyName: 'Acme' });
    const { access } = await selfClient(emu);
    const me = await api(emu.url, '/crm/v8/users?type=CurrentUser', access);
    assert.equal(me.status, 200);
    const user = (me.body?.['users'] as Json[])[0]!;
    assert.equal(user['email'], USER);
    assert.equal(user['status'], 'active');
    assert.equal(typeof user['full_name'], 'string');
    assert.match(String(user['id']), /^\d+$/);

    const org = await api(emu.url, '/crm/v8/org', access);
    assert.equal((org.body?.['org'] as Json[])[0]?.['company_name'], 'Acme');

    assert.deepEqual(await api(emu.url, '/crm/v8/Leads', access), { status: 204, body: undefined });
    const created = await api(emu.url, '/crm/v8/Leads', access, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: [{ Last_Name: 'Smith', Company: 'Acme' }] }),
    });
    assert.equal(created.status, 201);
    const row = (created.body?.['data'] as Json[])[0]!;
    assert.equal(row['code'], 'SUCCESS');
    assert.equal(row['message'], 'record added');
    assert.equal(row['status'], 'success');
    const id = (row['details'] as Json)['id'] as string;
    assert.match(id, /^\d+$/);

    const list = await api(emu.url, '/crm/v8/Leads?fields=Last_Name', access);
    assert.deepEqual(list.body?.['data'], [{ Last_Name: 'Smith', id }]);
    assert.deepEqual(list.body?.['info'], {
      per_page: 200,
      next_page_token: null,
      count: 1,
      page: 1,
      previous_page_token: null,
      page_token_expiry: null,
      more_records: false,
    });
    const one = await api(emu.url, `/crm/v8/Leads/${id}`, access);
    assert.equal((one.body?.['data'] as Json[])[0]?.['Company'], 'Acme');
    assert.equal(((one.body?.['data'] as Json[])[0]?.['Owner'] as Json)['email'], USER);

    const missing = await api(emu.url, '/crm/v8/Leads', access, {
      method: 'POST',
      body: JSON.stringify({ data: [{ Company: 'X' }] }),
    });
    assert.equal(missing.status, 400);
    assert.equal((missing.body?.['data'] as Json[])[0]?.['code'], 'MANDATORY_NOT_FOUND');
    assert.equal((await api(emu.url, '/crm/v8/settings/modules', access)).status, 200);
    assert.equal((await api(emu.url, '/crm/v8/Widgets', access)).body?.['code'], 'INVALID_MODULE');
  });

  test('scope mismatch, missing and garbled header', async (t) => {
    const emu = await start(t);
    const { access } = await selfClient(emu, ['ZohoCRM.users.READ']);
    const mismatch = {
      code: 'OAUTH_SCOPE_MISMATCH',
      details: {},
      message: 'invalid oauth scope to access this URL',
      status: 'error',
    };
    assert.equal((await api(emu.url, '/crm/v8/users?type=CurrentUser', access)).status, 200);
    assert.deepEqual(await api(emu.url, '/crm/v8/org', access), { status: 401, body: mismatch });
    assert.deepEqual(await api(emu.url, '/crm/v8/Leads', access), { status: 401, body: mismatch });
    assert.deepEqual(await api(emu.url, '/crm/v8/org'), { status: 401, body: AUTH_FAILURE });
    assert.deepEqual(await api(emu.url, '/crm/v8/org', undefined, { headers: { authorization: `Token ${access}` } }), {
      status: 401,
      body: AUTH_FAILURE,
    });
    assert.deepEqual(await api(emu.url, '/crm/v8/org', '1000.garbage'), { status: 401, body: INVALID_TOKEN });

    const { access: leadsOnly } = await selfClient(emu, ['ZohoCRM.modules.leads.ALL']);
    assert.equal((await api(emu.url, '/crm/v8/Leads', leadsOnly)).status, 204);
    assert.equal((await api(emu.url, '/crm/v8/users', leadsOnly)).status, 401);
    assert.deepEqual(emu.stats().byError, { OAUTH_SCOPE_MISMATCH: 3, AUTHENTICATION_FAILURE: 2, INVALID_TOKEN: 1 });
  });

  test('Authorization: Bearer is accepted as Zoho documents it, Zoho-oauthtoken too; schemes are case-insensitive', async (t) => {
    const emu = await start(t);
    const { access } = await selfClient(emu);
    const org = (authorization: string) => api(emu.url, '/crm/v8/org', undefined, { headers: { authorization } });
    for (const header of [
      `Zoho-oauthtoken ${access}`,
      `Bearer ${access}`,
      `bearer ${access}`,
      `BEARER  ${access} `,
      `zoho-oauthtoken ${access}`,
    ]) {
      const res = await org(header);
      assert.equal(res.status, 200, header.split(' ')[0]);
      assert.equal(((res.body?.['org'] as Json[])[0] as Json)['company_name'], 'Emulated Org');
    }
    const users = await api(emu.url, '/crm/v8/users?type=CurrentUser', undefined, {
      headers: { authorization: `Bearer ${access}` },
    });
    assert.equal(((users.body?.['users'] as Json[])[0] as Json)['email'], USER);
    // Wrong schemes, a scheme with no token and a dead Bearer token keep Zoho's error shapes.
    assert.deepEqual(await org(`Basic ${access}`), { status: 401, body: AUTH_FAILURE });
    assert.deepEqual(await org(`Token ${access}`), { status: 401, body: AUTH_FAILURE });
    assert.deepEqual(await org(`Bearer${access}`), { status: 401, body: AUTH_FAILURE });
    assert.deepEqual(await org('Bearer '), { status: 401, body: AUTH_FAILURE });
    assert.deepEqual(await org('Bearer 1000.garbage'), { status: 401, body: INVALID_TOKEN });
    emu.clock.advance(3600_000);
    assert.deepEqual(await org(`Bearer ${access}`), { status: 401, body: INVALID_TOKEN });
    assert.deepEqual(emu.stats().byError, { AUTHENTICATION_FAILURE: 4, INVALID_TOKEN: 2 });
    assert.equal(emu.stats().apiSuccesses, 6);
  });

  test('deadTokenError: AUTHENTICATION_FAILURE for dead tokens', async (t) => {
    const emu = await start(t, { deadTokenError: 'AUTHENTICATION_FAILURE' });
    const { access } = await selfClient(emu);
    emu.clock.advance(3600_000);
    assert.deepEqual(await api(emu.url, '/crm/v8/org', access), { status: 401, body: AUTH_FAILURE });
  });
});

describe('faults', () => {
  test('status: the next N token requests fail, then normal', async (t) => {
    const emu = await start(t);
    const { refresh: rt } = await selfClient(emu);
    emu.faults.inject({ target: 'token', kind: 'status', status: 503, times: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${emu.url}/oauth/v2/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt }),
      });
      assert.equal(res.status, 503);
      await res.text();
    }
    assert.match(String((await refresh(emu.url, rt))['access_token']), TOKEN_SHAPE);
    const stats = emu.stats();
    assert.equal(stats.refreshRequests, 3);
    assert.equal(stats.refreshFaulted, 2);
    assert.equal(stats.refreshSuccesses, 1);
    assert.equal(stats.faults.status, 2);
    assert.deepEqual(emu.faults.list(), []);
  });

  test('malformed JSON body', async (t) => {
    const emu = await start(t);
    const { access, refresh: rt } = await selfClient(emu);
    emu.faults.inject({ target: 'all', kind: 'malformed', times: 2 });
    const res = await fetch(`${emu.url}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /application\/json/);
    await assert.rejects(res.json(), SyntaxError);
    const apiRes = await fetch(`${emu.url}/crm/v8/org`, { headers: { authorization: `Zoho-oauthtoken ${access}` } });
    await assert.rejects(apiRes.json(), SyntaxError);
    assert.equal(emu.stats().faults.malformed, 2);
    assert.equal(emu.stats().apiFaulted, 1);
  });

  test('connection reset', async (t) => {
    const emu = await start(t);
    const { refresh: rt } = await selfClient(emu);
    emu.faults.inject({ target: 'token', kind: 'reset', times: 1 });
    await assert.rejects(refresh(emu.url, rt), TypeError);
    assert.match(String((await refresh(emu.url, rt))['access_token']), TOKEN_SHAPE);
    assert.equal(emu.stats().faults.reset, 1);
    assert.equal(emu.stats().refreshFaulted, 1);
  });

  test('forced throttle on token and API; revoke target leaves others alone', async (t) => {
    const emu = await start(t);
    const { access, refresh: rt } = await selfClient(emu);
    const handle = emu.faults.inject({ target: 'token', kind: 'throttle' });
    assert.deepEqual(await refresh(emu.url, rt), THROTTLED);
    assert.deepEqual(await refresh(emu.url, rt), THROTTLED);
    assert.equal(handle.remaining, Infinity);
    emu.faults.inject({ target: 'api', kind: 'throttle', times: 1 });
    const limited = await api(emu.url, '/crm/v8/org', access);
    assert.equal(limited.status, 429);
    assert.equal(limited.body?.['code'], 'TOO_MANY_REQUESTS');
    emu.faults.inject({ target: 'revoke', kind: 'status', status: 500 });
    assert.equal((await api(emu.url, '/crm/v8/org', access)).status, 200);
    emu.faults.clear();
    assert.match(String((await refresh(emu.url, rt))['access_token']), TOKEN_SHAPE);
    const stats = emu.stats();
    assert.equal(stats.refreshThrottled, 2);
    assert.equal(stats.refreshSuccesses, 1);
    assert.equal(stats.faults.throttle, 3);
    assert.equal(emu.liveAccessTokens(rt), 2, 'forced throttles minted nothing');
  });

  test('latency delays but still answers; options.faults apply from the start', async (t) => {
    const emu = await start(t, { faults: [{ target: 'api', kind: 'latency', ms: 5, times: 1 }] });
    const { access } = await selfClient(emu);
    assert.equal(emu.faults.list().length, 1);
    assert.equal((await api(emu.url, '/crm/v8/org', access)).status, 200);
    assert.equal(emu.stats().faults.latency, 1);
    assert.deepEqual(emu.faults.list(), []);
  });
  test("an injected API 401 answers Zoho's JSON INVALID_TOKEN body", async (t) => {
    const emu = await start(t);
    const { access } = await selfClient(emu);
    emu.faults.inject({ target: 'api', kind: 'status', status: 401, times: 1 });
    assert.deepEqual(await api(emu.url, '/crm/v8/org', access), {
      status: 401,
      body: { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' },
    });
    assert.equal((await api(emu.url, '/crm/v8/org', access)).status, 200, 'the token itself is still live');
    assert.equal(emu.stats().apiFaulted, 1);
  });

  test('the observer sees every minted token with its true expiry and how each request ended', async (t) => {
    const issued: TokenIssuedEvent[] = [];
    const requests: RequestEvent[] = [];
    const emu = await start(t, {
      observer: { onTokenIssued: (e) => issued.push(e), onRequest: (e) => requests.push(e) },
    });
    const { access, refresh: rt } = await selfClient(emu);
    emu.clock.advance(MINUTE);
    emu.faults.inject({ target: 'token', kind: 'status', status: 503, times: 1 });
    emu.faults.inject({ target: 'api', kind: 'throttle', times: 1 });
    await fetch(`${emu.url}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt }),
    }).then((r) => r.text());
    const second = String((await refresh(emu.url, rt))['access_token']);
    await api(emu.url, '/crm/v8/org', access);
    await api(emu.url, '/crm/v8/org', second);
    const start0 = issued[0]!.issuedAt;
    assert.deepEqual(
      issued.map((e) => [
        e.grantType,
        e.accessToken,
        e.refreshToken,
        e.parentRefreshToken,
        e.user,
        e.clientId,
        e.dc,
        e.issuedAt - start0,
        e.expiresAt - e.issuedAt,
      ]),
      [
        ['authorization_code', access, rt, undefined, USER, CLIENT.clientId, 'us', 0, 3_600_000],
        ['refresh_token', second, undefined, rt, USER, CLIENT.clientId, 'us', MINUTE, 3_600_000],
      ],
    );
    assert.deepEqual(
      requests.map((e) => [
        e.category,
        e.token === undefined
          ? undefined
          : e.token === rt
            ? 'rt'
            : e.token === access
              ? 'access'
              : e.token === second
                ? 'second'
                : 'code',
        e.fault,
        e.status,
        e.outcome,
      ]),
      [
        ['grant', 'code', undefined, undefined, 'issued'],
        ['refresh', 'rt', 'status', 503, 'faulted'],
        ['refresh', 'rt', undefined, undefined, 'issued'],
        ['api', 'access', 'throttle', undefined, 'faulted'],
        ['api', 'second', undefined, undefined, 'ok'],
      ],
    );
  });
});

describe('stats, clock and lifecycle', () => {
  test('stats count every request by kind and outcome; resetStats zeroes them', async (t) => {
    const emu = await start(t);
    const { access, refresh: rt } = await selfClient(emu);
    await refresh(emu.url, rt);
    await refresh(emu.url, '1000.unknown');
    await api(emu.url, '/crm/v8/org', access);
    await api(emu.url, '/crm/v8/org');
    const stats = emu.stats();
    assert.deepEqual(
      {
        requests: stats.requests,
        grantRequests: stats.grantRequests,
        grantSuccesses: stats.grantSuccesses,
        refreshRequests: stats.refreshRequests,
        refreshSuccesses: stats.refreshSuccesses,
        refreshErrors: stats.refreshErrors,
        revokeRequests: stats.revokeRequests,
        apiRequests: stats.apiRequests,
        apiSuccesses: stats.apiSuccesses,
        apiErrors: stats.apiErrors,
        codesIssued: stats.codesIssued,
        accessTokensIssued: stats.accessTokensIssued,
        refreshTokensIssued: stats.refreshTokensIssued,
      },
      {
        requests: 5,
        grantRequests: 1,
        grantSuccesses: 1,
        refreshRequests: 2,
        refreshSuccesses: 1,
        refreshErrors: 1,
        revokeRequests: 0,
        apiRequests: 2,
        apiSuccesses: 1,
        apiErrors: 1,
        codesIssued: 1,
        accessTokensIssued: 2,
        refreshTokensIssued: 1,
      },
    );
    assert.deepEqual(stats.byEndpoint, { 'POST /oauth/v2/token': 3, 'GET /crm/v8/org': 2 });
    assert.deepEqual(stats.byError, { invalid_code: 1, AUTHENTICATION_FAILURE: 1 });
    emu.resetStats();
    assert.equal(emu.stats().requests, 0);
    assert.deepEqual(emu.stats().byEndpoint, {});
    assert.equal(stats.requests, 5, 'a snapshot does not change');
  });

  test('the clock works unbound, as an injected clock', async (t) => {
    const emu = await start(t, { now: 1_000 });
    const { now, advance, set } = emu.clock;
    advance(500);
    assert.equal(now(), 1_500);
    set(10_000);
    assert.equal(emu.clock.now(), 10_000);
    assert.throws(
      () => advance(-1),
      (e) => isZohoTokenError(e, 'INVALID_ARGUMENT'),
    );
  });

  test('tokenInfo describes live tokens', async (t) => {
    const emu = await start(t, { now: 5_000_000 });
    const { access, refresh: rt } = await selfClient(emu, ['ZohoCRM.org.READ']);
    assert.deepEqual(emu.tokenInfo(access), {
      type: 'access',
      clientId: CLIENT.clientId,
      user: USER,
      scopes: ['ZohoCRM.org.READ'],
      dc: 'us',
      issuedAt: 5_000_000,
      expiresAt: 5_000_000 + 3600_000,
      refreshToken: rt,
    });
    assert.equal(emu.tokenInfo(rt)?.type, 'refresh');
    assert.equal(emu.tokenInfo('nope'), undefined);
  });

  test('close() ends keep-alive connections and pending latency; twice is safe', async () => {
    const emu = await startZohoEmulator({ clients: [CLIENT] });
    const { port, hostname } = new URL(emu.url);
    // A raw keep-alive connection that stays open after its response.
    const socket = connect(Number(port), hostname);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    const answered = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.includes('"zoho-emulator"')) resolve(text);
      });
    });
    socket.write(`GET / HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`);
    assert.match(await answered, /^HTTP\/1\.1 200/);
    assert.equal(socket.destroyed, false);

    emu.faults.inject({ target: 'api', kind: 'latency', ms: 3_600_000 });
    const stuck = fetch(`${emu.url}/crm/v8/org`).then(
      () => 'answered',
      () => 'failed',
    );
    while (emu.stats().apiRequests === 0) await new Promise((r) => setImmediate(r));

    await Promise.all([emu.close(), emu.close()]);
    await closed;
    assert.equal(await stuck, 'failed');
    await emu.close();
    await assert.rejects(fetch(`${emu.url}/`), TypeError);
  });
});
