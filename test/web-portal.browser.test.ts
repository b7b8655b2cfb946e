/**
 * The web portal example (examples/web-portal) in a real browser: Debian's Chromium driven by
 * playwright-core, the portal and the emulator on loopback ports of this process. One browser for
 * the whole file; each scenario builds on the previous one (same users, same store). Screenshots
 * of every step go to test-artifacts/web-portal/ (git-ignored).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ServerType } from '@hono/node-server';
import { serve } from '@hono/node-server';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { SqliteStore, ZohoAuth, type OAuthToken } from 'zoho-token-store';
import { startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { createPortal } from '../examples/web-portal/portal.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
// Under CI a missing browser fails the tests (launch throws); elsewhere they skip with the reason.
const SKIP =
  !existsSync(CHROMIUM) && !process.env['CI']
    ? `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH): browser tests skipped`
    : false;

const CLIENT = { clientId: '1000.PORTALBROWSERTEST0000000000001', clientSecret: 'portal-browser-test-secret' };
const APP_NAME = 'Acme Portal';
const ALICE = 'alice.smith@example.com';
const BOB = 'bob.jones@example.com';
const SCOPES = ['ZohoCRM.users.READ', 'ZohoCRM.org.READ', 'ZohoCRM.modules.leads.ALL'];
const SESSION_SECRET = 'browser-test-session-secret-0123456789';
const ADMIN_PASSWORD = 'admin-password-for-the-test';
const ARTIFACTS = join('test-artifacts', 'web-portal');
const MINUTE = 60_000;

interface Portal {
  readonly url: string;
  readonly auth: ZohoAuth;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

describe('web portal in a real browser', { skip: SKIP }, () => {
  let emu: ZohoEmulator;
  let browser: Browser;
  let portal: Portal;
  let port: number;
  let dir: string;
  let dbFile: string;
  let alice: Page;
  let bob: Page;
  let aliceCallback: string | undefined;
  const contexts: BrowserContext[] = [];
  let step = 0;

  /** The portal on `port`: a fresh store handle, ZohoAuth and HTTP server (as after a restart). */
  async function startPortal(): Promise<Portal> {
    const store = new SqliteStore({ filename: dbFile });
    const auth = new ZohoAuth({
      store,
      environment: emu.environment,
      ...CLIENT,
      redirectUrl: `http://127.0.0.1:${port}/oauth/callback`,
      clock: emu.clock,
    });
    const app = createPortal({
      auth,
      scopes: SCOPES,
      sessionSecret: SESSION_SECRET,
      secure: false,
      adminPassword: ADMIN_PASSWORD,
      environments: [emu.environment],
      now: () => emu.clock.now(),
    });
    const server: ServerType = await new Promise((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, () => resolve(s));
    });
    return {
      url: `http://127.0.0.1:${port}`,
      auth,
      close: async () => {
        await new Promise((resolve) => {
          server.close(resolve);
          if ('closeAllConnections' in server) server.closeAllConnections();
        });
        await store.close();
      },
    };
  }

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    return page;
  }

  async function shot(page: Page, name: string): Promise<void> {
    step++;
    await page.screenshot({ path: join(ARTIFACTS, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
  }

  /** Home → "Login with Zoho" → the emulator's consent page, as `user` → the dashboard. */
  async function logIn(page: Page, user: string, name: string): Promise<void> {
    await page.goto(portal.url);
    await page.getByRole('link', { name: 'Login with Zoho' }).click();
    await page.getByRole('button', { name: 'Accept' }).waitFor();
    await page.getByRole('radio', { name: user }).check();
    await shot(page, `${name}-consent`);
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL(`${portal.url}/dashboard`);
    assert.equal(await page.getByTestId('email').textContent(), user);
  }

  async function createLead(page: Page, lastName: string, company: string): Promise<void> {
    await page.getByLabel('Last name').fill(lastName);
    await page.getByLabel('Company').fill(company);
    await page.getByLabel('E-mail').fill(`${lastName.toLowerCase()}@${company.split(' ')[0]!.toLowerCase()}.example`);
    await page.getByRole('button', { name: 'Create lead' }).click();
    await page.waitForURL(`${portal.url}/dashboard`);
  }

  /** Name and company of each lead row. */
  async function leadNames(page: Page): Promise<string[]> {
    const rows = await page.getByTestId('lead').all();
    return Promise.all(rows.map(async (row) => (await row.locator('td').allTextContents()).slice(0, 2).join(' | ')));
  }

  async function storedTokens(): Promise<OAuthToken[]> {
    return portal.auth.store.getTokens();
  }

  before(async () => {
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'zts-web-portal-'));
    dbFile = join(dir, 'portal.db');
    port = await freePort();
    emu = await startZohoEmulator({
      clients: [{ ...CLIENT, name: APP_NAME, redirectUris: [`http://127.0.0.1:${port}/oauth/callback`] }],
      users: [{ email: ALICE }, { email: BOB }],
    });
    portal = await startPortal();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await portal?.close();
    await emu?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('two users in two browser contexts log in; each sees only their own data; no token reaches the browser', async () => {
    alice = await newPage();
    bob = await newPage();
    alice.on('request', (request) => {
      if (request.url().includes('/oauth/callback?')) aliceCallback = request.url();
    });
    await alice.goto(portal.url);
    await shot(alice, 'home');

    await logIn(alice, ALICE, 'alice');
    assert.ok(aliceCallback?.includes('state='), 'the callback carried the state');
    await bob.goto(portal.url);
    await bob.getByRole('link', { name: 'Login with Zoho' }).click();
    // The consent page: the application's name, both test users to choose from, scopes in words.
    await bob.getByRole('button', { name: 'Accept' }).waitFor();
    assert.match((await bob.locator('h1').textContent()) ?? '', new RegExp(`^${APP_NAME} would like to access`));
    assert.equal(await bob.getByRole('radio', { name: ALICE }).isChecked(), true, 'the first account is selected');
    assert.equal(await bob.getByRole('radio', { name: BOB }).isChecked(), false);
    assert.ok(await bob.getByText('View users of your organization (Zoho CRM)').isVisible());
    assert.ok(await bob.getByText('View, create, update and delete Leads (Zoho CRM)').isVisible());
    // Keyboard: Tab reaches the chooser, arrows move between the accounts.
    await bob.getByRole('radio', { name: ALICE }).focus();
    await bob.keyboard.press('ArrowDown');
    assert.equal(await bob.getByRole('radio', { name: BOB }).isChecked(), true, 'arrow keys choose the account');
    await shot(bob, 'consent-page');
    await bob.getByRole('button', { name: 'Accept' }).click();
    await bob.waitForURL(`${portal.url}/dashboard`);
    assert.equal(await bob.getByTestId('email').textContent(), BOB);

    await createLead(alice, 'Alvarez', 'Alice Corp');
    await createLead(bob, 'Baker', 'Bob Ltd');
    await createLead(alice, 'Atkins', 'Alice Corp');
    await alice.reload();
    assert.deepEqual(await leadNames(alice), ['Atkins | Alice Corp', 'Alvarez | Alice Corp']);
    assert.deepEqual(await leadNames(bob), ['Baker | Bob Ltd']);
    assert.equal(await alice.getByTestId('full-name').textContent(), 'Alice Smith');
    assert.equal(await bob.getByTestId('full-name').textContent(), 'Bob Jones');
    await shot(alice, 'alice-dashboard');
    await shot(bob, 'bob-dashboard');

    const tokens = await storedTokens();
    assert.deepEqual(tokens.map((t) => t.userName).sort(), [ALICE, BOB]);
    assert.equal(emu.stats().grantRequests, 2, 'each code exchanged once');
    // Nothing a browser holds (page, cookies) contains a token.
    for (const page of [alice, bob]) {
      const html = await page.content();
      const cookies = JSON.stringify(await page.context().cookies());
      for (const token of tokens) {
        for (const secret of [token.accessToken, token.refreshToken, token.grantToken]) {
          assert.ok(secret && !html.includes(secret) && !cookies.includes(secret), 'a token reached the browser');
        }
      }
      const [cookie] = await page.context().cookies();
      assert.equal(cookie?.name, 'portal');
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, 'Lax');
    }
    const response = await alice.request.get(`${portal.url}/dashboard`);
    assert.match(response.headers()['content-security-policy'] ?? '', /frame-ancestors 'none'/);
    assert.doesNotMatch(response.headers()['content-security-policy'] ?? '', /unsafe-inline/);
  });

  test('Reject on the consent page → a friendly page, nothing stored', async () => {
    const page = await newPage();
    await page.goto(portal.url);
    await page.getByRole('link', { name: 'Login with Zoho' }).click();
    await page.getByRole('button', { name: 'Reject' }).click();
    await page.waitForURL(/\/oauth\/callback\?error=access_denied/);
    assert.equal(await page.getByTestId('title').textContent(), 'No access given');
    assert.match((await page.getByTestId('message').textContent()) ?? '', /You declined access/);
    await shot(page, 'rejected');
    assert.equal((await storedTokens()).length, 2);
  });

  test('a tampered or replayed state is refused', async () => {
    const before = emu.stats().grantRequests;
    // Tampered: the state in the consent URL is changed; the callback no longer matches the cookie.
    const page = await newPage();
    await page.goto(portal.url);
    await page.getByRole('link', { name: 'Login with Zoho' }).click();
    await page.getByRole('button', { name: 'Accept' }).waitFor();
    const tampered = new URL(page.url());
    tampered.searchParams.set('state', `${tampered.searchParams.get('state')}x`);
    await page.goto(tampered.href);
    await page.getByRole('radio', { name: BOB }).check();
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL(/\/oauth\/callback\?code=/);
    assert.equal(await page.getByTestId('title').textContent(), 'Login refused');
    await shot(page, 'tampered-state');

    // Replayed: Alice's callback URL again, in her own browser and in a stranger's.
    assert.ok(aliceCallback !== undefined);
    const replayed = await alice.goto(aliceCallback);
    assert.equal(replayed?.status(), 400);
    assert.equal(await alice.getByTestId('title').textContent(), 'Login refused');
    await shot(alice, 'replayed-state');
    const stranger = await newPage();
    assert.equal((await stranger.goto(aliceCallback))?.status(), 400);
    assert.equal(await stranger.getByTestId('title').textContent(), 'Login refused');
    await stranger.goto(`${portal.url}/dashboard`);
    assert.equal(stranger.url(), `${portal.url}/`, 'the stranger is not signed in');
    assert.equal(emu.stats().grantRequests, before, 'no code was exchanged');
    await alice.goto(`${portal.url}/dashboard`);
    assert.equal(await alice.getByTestId('email').textContent(), ALICE, 'Alice is still signed in');
  });

  test('the portal restarted → both users still connected, no new consent', async () => {
    const before = emu.stats();
    await portal.close();
    portal = await startPortal();
    for (const [page, user] of [
      [alice, ALICE],
      [bob, BOB],
    ] as const) {
      await page.reload();
      assert.equal(page.url(), `${portal.url}/dashboard`);
      assert.equal(await page.getByTestId('email').textContent(), user);
    }
    await shot(bob, 'after-restart');
    const now = emu.stats();
    assert.equal(now.authPageRequests, before.authPageRequests, 'no consent page');
    assert.equal(now.grantRequests, before.grantRequests, 'no new login');
  });

  test('past expiry, 20 tabs reload at once → exactly one refresh', async () => {
    const tabs = [alice, ...(await Promise.all(Array.from({ length: 19 }, () => alice.context().newPage())))];
    await Promise.all(tabs.map((tab) => tab.goto(`${portal.url}/dashboard`)));
    emu.clock.advance(61 * MINUTE);
    const before = emu.stats();
    await Promise.all(tabs.map((tab) => tab.reload()));
    const after = emu.stats();
    for (const tab of tabs) assert.equal(await tab.getByTestId('email').textContent(), ALICE);
    assert.equal(after.refreshRequests - before.refreshRequests, 1, 'one refresh for 20 tabs');
    assert.equal(after.apiErrors - before.apiErrors, 0);
    await shot(tabs[19]!, 'twenty-tabs');
    await Promise.all(tabs.slice(1).map((tab) => tab.close()));
  });

  test('Disconnect → revoked at the emulator, tokens deleted', async () => {
    const before = emu.stats();
    assert.equal(emu.refreshTokensOf({ clientId: CLIENT.clientId, user: BOB }).length, 1);
    await bob.getByRole('button', { name: 'Disconnect Zoho' }).click();
    await bob.waitForURL(`${portal.url}/?notice=disconnected`);
    assert.match((await bob.getByTestId('notice').textContent()) ?? '', /revoked its access at Zoho/);
    await shot(bob, 'disconnected');
    assert.equal(emu.stats().revokeSuccesses - before.revokeSuccesses, 1);
    assert.deepEqual(emu.refreshTokensOf({ clientId: CLIENT.clientId, user: BOB }), []);
    assert.deepEqual(
      (await storedTokens()).map((t) => t.userName),
      [ALICE],
    );
  });

  test('the admin page lists connections (no secret) and its revoke button makes the user log in again', async () => {
    const admin = await newPage();
    await admin.goto(`${portal.url}/admin`);
    await admin.getByLabel('Admin password').fill('wrong');
    await admin.getByRole('button', { name: 'Sign in' }).click();
    assert.match((await admin.content()) ?? '', /Wrong password/);
    await admin.getByLabel('Admin password').fill(ADMIN_PASSWORD);
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await admin.waitForURL(`${portal.url}/admin`);
    const row = admin.getByTestId('connection');
    assert.equal(await row.count(), 1);
    const cells = (await row.locator('td').allTextContents()).map((c) => c.trim());
    assert.deepEqual(cells.slice(0, 4), [ALICE, emu.environment.name, '60 min', 'active']);
    const html = await admin.content();
    const [token] = await storedTokens();
    for (const secret of [token?.accessToken, token?.refreshToken, CLIENT.clientSecret])
      assert.ok(secret && !html.includes(secret), 'a secret on the admin page');

    const before = emu.stats();
    await admin.getByRole('button', { name: `Refresh ${ALICE}` }).click();
    await admin.waitForURL(/\/admin\?notice=/);
    assert.equal(admin.url(), `${portal.url}/admin?notice=refreshed`);
    assert.equal(emu.stats().refreshRequests - before.refreshRequests, 1);
    await shot(admin, 'admin');

    await admin.getByRole('button', { name: `Revoke ${ALICE}` }).click();
    await admin.waitForURL(/\/admin\?notice=revoked/);
    assert.equal(await admin.getByTestId('connection').count(), 0);
    assert.deepEqual(emu.refreshTokensOf({ clientId: CLIENT.clientId, user: ALICE }), []);

    await alice.reload();
    assert.equal(alice.url(), `${portal.url}/?notice=reconnect`);
    assert.match((await alice.getByTestId('notice').textContent()) ?? '', /Your Zoho connection has ended/);
    await shot(alice, 'asked-to-log-in-again');
  });

  test('a refresh token that died at Zoho sends the user back to "Login with Zoho" with a message', async () => {
    await logIn(alice, ALICE, 'alice-again');
    emu.revokeAll();
    emu.clock.advance(61 * MINUTE);
    await alice.reload();
    assert.equal(alice.url(), `${portal.url}/?notice=reconnect`);
    assert.match((await alice.getByTestId('notice').textContent()) ?? '', /Log in with Zoho again/);
    const [row] = await storedTokens();
    assert.equal(row?.refreshToken ?? null, null, 'the dead token is kept without its refresh token');
  });
});
