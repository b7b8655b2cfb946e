/**
 * The web portal example's security rules without a browser: its Hono app called in process
 * (`app.request`), served over "https" (Secure cookies), against the emulator on loopback.
 * The browser scenarios are in web-portal.browser.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Hono } from 'hono';
import { MemoryStore, ZohoAuth } from 'zoho-token-store';
import { startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { createPortal } from '../examples/web-portal/portal.js';

const CLIENT = { clientId: '1000.PORTALUNITTEST00000000000000001', clientSecret: 'portal-unit-test-secret' };
const PORTAL = 'https://portal.example';
const REDIRECT = `${PORTAL}/oauth/callback`;
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

/** The `name=value` of the session cookie a response sets. */
function cookieOf(response: Response): string {
  const header = response.headers.get('set-cookie') ?? '';
  const pair = header.split(';')[0] ?? '';
  assert.match(pair, /^__Host-portal=/);
  return pair;
}

/** The session's JSON payload, read back from its cookie (signed, not encrypted). */
function payloadOf(cookie: string): Record<string, unknown> {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  return JSON.parse(Buffer.from(value.slice(0, value.lastIndexOf('.')), 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** The same signature over a different payload: a forged session. */
/** A fresh session on `portal` (its cookie) and the admin sign-in form for a password, with its CSRF token. */
async function adminSignIn(portal: { request(url: string, init?: RequestInit): Response | Promise<Response> }) {
  const cookie = cookieOf(await portal.request(`${PORTAL}/`));
  const csrf = String(payloadOf(cookie)['csrf']);
  const form = (password: string): RequestInit => ({
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, password }).toString(),
  });
  return { cookie, form };
}

function forged(cookie: string, payload: Record<string, unknown>): string {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  const signature = value.slice(value.lastIndexOf('.') + 1);
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `__Host-portal=${encodeURIComponent(`${body}.${signature}`)}`;
}

describe('web portal: headers, session cookie, CSRF, state', () => {
  let emu: ZohoEmulator;
  let app: Hono;
  let auth: ZohoAuth;

  /** Login with Zoho as `user`, as the browser would; returns the signed-in session cookie. */
  async function logIn(user: string): Promise<string> {
    const home = await app.request(`${PORTAL}/`);
    const login = await app.request(`${PORTAL}/login`, { headers: { cookie: cookieOf(home) } });
    assert.equal(login.status, 302);
    const callback = await emu.approve(login.headers.get('location')!, { user });
    const done = await app.request(callback, { headers: { cookie: cookieOf(login) } });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), '/dashboard');
    return cookieOf(done);
  }

  before(async () => {
    emu = await startZohoEmulator({ clients: [{ ...CLIENT, redirectUris: [REDIRECT] }] });
    auth = new ZohoAuth({
      store: new MemoryStore(),
      environment: emu.environment,
      ...CLIENT,
      redirectUrl: REDIRECT,
      clock: emu.clock,
    });
    app = createPortal({
      auth,
      scopes: ['ZohoCRM.users.READ', 'ZohoCRM.modules.leads.ALL'],
      sessionSecret: 'unit-test-session-secret',
      secure: true,
      adminPassword: 'pw',
    });
  });

  after(() => emu.close());

  test('every answer has the security headers; the session cookie is __Host-, Secure, HttpOnly, SameSite=Lax', async () => {
    for (const path of ['/', '/nowhere', '/static/portal.css']) {
      const response = await app.request(`${PORTAL}${path}`);
      assert.equal(
        response.headers.get('content-security-policy'),
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      assert.equal(response.headers.get('x-frame-options'), 'DENY');
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(response.headers.get('strict-transport-security'), 'max-age=31536000');
    }
    const home = await app.request(`${PORTAL}/`);
    const attributes = (home.headers.get('set-cookie') ?? '').split(/;\s*/).slice(1).sort();
    assert.deepEqual(attributes, ['HttpOnly', 'Max-Age=2592000', 'Path=/', 'SameSite=Lax', 'Secure']);
    assert.doesNotMatch(await home.text(), /<script|style=/, 'no inline script or style');
  });

  test('a POST without the session’s CSRF token is refused (403) and changes nothing', async () => {
    const cookie = await logIn(ALICE);
    const csrf = String(payloadOf(cookie)['csrf']);
    const post = (fields: Record<string, string>, withCookie = cookie): Promise<Response> =>
      Promise.resolve(
        app.request(`${PORTAL}/disconnect`, {
          method: 'POST',
          headers: { cookie: withCookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields).toString(),
        }),
      );
    assert.equal((await post({})).status, 403);
    assert.equal((await post({ csrf: `${csrf.slice(0, -1)}x` })).status, 403);
    assert.equal((await post({ csrf }, '')).status, 403, 'no cookie');
    assert.equal(emu.stats().revokeRequests, 0);
    const done = await post({ csrf });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), '/?notice=disconnected');
    assert.equal(emu.stats().revokeSuccesses, 1);
  });

  test('a session cookie edited to name another user is not accepted', async () => {
    const bob = await logIn(BOB);
    const alice = await logIn(ALICE);
    const dashboard = await app.request(`${PORTAL}/dashboard`, { headers: { cookie: alice } });
    assert.match(await dashboard.text(), new RegExp(`data-testid="email">${ALICE}<`));
    const edited = forged(alice, { ...payloadOf(alice), user: BOB });
    const refused = await app.request(`${PORTAL}/dashboard`, { headers: { cookie: edited } });
    assert.equal(refused.status, 303);
    assert.equal(refused.headers.get('location'), '/', 'an anonymous session: back to the home page');
    assert.ok(bob.length > 0);
  });

  test('a callback without a login started in this browser, or after its use, is refused without an exchange', async () => {
    const home = await app.request(`${PORTAL}/`);
    const login = await app.request(`${PORTAL}/login`, { headers: { cookie: cookieOf(home) } });
    const callback = await emu.approve(login.headers.get('location')!, { user: ALICE });
    const before = emu.stats().grantRequests;
    const stranger = await app.request(callback);
    assert.equal(stranger.status, 400);
    assert.match(await stranger.text(), /Login refused/);
    assert.equal((await app.request(callback, { headers: { cookie: cookieOf(login) } })).status, 303);
    assert.equal(emu.stats().grantRequests, before + 1);
    // The old cookie (with the pending state) replayed with the same callback: refused.
    const replayed = await app.request(callback, { headers: { cookie: cookieOf(login) } });
    assert.equal(replayed.status, 400);
    assert.equal(emu.stats().grantRequests, before + 1);
  });

  test('the admin page needs the password; its answers never carry a token or the client secret', async () => {
    const { cookie, form } = await adminSignIn(app);
    assert.doesNotMatch(await (await app.request(`${PORTAL}/admin`, { headers: { cookie } })).text(), /connection/);
    assert.equal((await app.request(`${PORTAL}/admin/login`, form('wrong'))).status, 401);
    const signedIn = await app.request(`${PORTAL}/admin/login`, form('pw'));
    assert.equal(signedIn.status, 303);
    const page = await (await app.request(`${PORTAL}/admin`, { headers: { cookie: cookieOf(signedIn) } })).text();
    assert.match(page, new RegExp(`data-user="${ALICE}"`));
    for (const token of await auth.store.getTokens()) {
      for (const secret of [token.accessToken, token.refreshToken, token.grantToken, CLIENT.clientSecret])
        assert.ok(secret && !page.includes(secret), 'a secret on the admin page');
    }
    // The same signed cookie on a portal whose admin password changed: signed out.
    const changed = createPortal({
      auth,
      scopes: ['ZohoCRM.users.READ'],
      sessionSecret: 'unit-test-session-secret',
      secure: true,
      adminPassword: 'pw-changed',
    });
    const stale = await (await changed.request(`${PORTAL}/admin`, { headers: { cookie: cookieOf(signedIn) } })).text();
    assert.doesNotMatch(stale, new RegExp(`data-user="${ALICE}"`));
    assert.match(stale, /type="password"/);
  });

  test('admin password guessing is throttled: after 5 wrong passwords in a minute even the right one gets 429', async () => {
    const guarded = createPortal({
      auth,
      scopes: ['ZohoCRM.users.READ'],
      sessionSecret: 'unit-test-session-secret',
      secure: true,
      adminPassword: 'pw',
    });
    const { form } = await adminSignIn(guarded);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await guarded.request(`${PORTAL}/admin/login`, form('wrong'))).status);
    statuses.push((await guarded.request(`${PORTAL}/admin/login`, form('pw'))).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
  });
});

describe('web portal: the callback’s data center', () => {
  test('a user of another data center is exchanged and served there (location, accounts-server)', async (t) => {
    const emu = await startZohoEmulator({
      dataCenters: ['us', 'eu'],
      clients: [{ ...CLIENT, dc: 'eu', redirectUris: [REDIRECT] }],
    });
    t.after(() => emu.close());
    const eu = emu.environmentFor('eu');
    const auth = new ZohoAuth({
      store: new MemoryStore(),
      environment: emu.environment,
      environments: [eu],
      ...CLIENT,
      redirectUrl: REDIRECT,
      clock: emu.clock,
    });
    const app = createPortal({
      auth,
      scopes: ['ZohoCRM.users.READ', 'ZohoCRM.modules.leads.ALL'],
      sessionSecret: 'unit-test-session-secret',
      secure: true,
    });
    const home = await app.request(`${PORTAL}/`);
    const login = await app.request(`${PORTAL}/login`, { headers: { cookie: cookieOf(home) } });
    assert.ok(login.headers.get('location')!.startsWith(`${emu.url}/oauth/v2/auth?`), 'consent at the default DC');
    const callback = new URL(await emu.approve(login.headers.get('location')!, { user: ALICE }));
    assert.equal(callback.searchParams.get('location'), 'eu');
    assert.equal(callback.searchParams.get('accounts-server'), eu.accountsUrl);
    const done = await app.request(callback.href, { headers: { cookie: cookieOf(login) } });
    assert.equal(done.status, 303);
    const [token] = await auth.store.getTokens();
    assert.equal(token?.accountsUrl, eu.accountsUrl);
    assert.equal(token?.apiDomain, eu.apiDomain);
    const dashboard = await app.request(`${PORTAL}/dashboard`, { headers: { cookie: cookieOf(done) } });
    assert.match(await dashboard.text(), new RegExp(`data-testid="email">${ALICE}<`));
  });
});
