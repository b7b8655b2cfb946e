// The emulator's admin HTTP API (/__admin/…), its real clock, its JSON config file and the
// `emulator` admin subcommands, all over real HTTP on 127.0.0.1.
import { request as httpRequest } from 'node:http';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  loadEmulatorConfig,
  parseEmulatorConfig,
  startZohoEmulator,
  type ZohoEmulator,
  type ZohoEmulatorOptions,
} from 'zoho-token-store/emulator';
import { isZohoTokenError } from '../src/errors.js';
import { tempDir } from './helpers/temp.js';

const CLIENT = {
  clientId: '1000.ADMINTESTCLIENT00000000000001',
  clientSecret: 'admin-test-secret-1',
  redirectUris: ['http://localhost:3000/cb'],
};
const USER = 'ana@example.com';
const TOKEN_SHAPE = /^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$/;
const HOUR = 3_600_000;
const ENTRY = fileURLToPath(new URL('../src/emulator/cli.ts', import.meta.url));

type Json = Record<string, unknown>;

async function start(t: TestContext, options: ZohoEmulatorOptions = {}): Promise<ZohoEmulator> {
  const emu = await startZohoEmulator({ clients: [CLIENT], admin: {}, ...options });
  t.after(() => emu.close());
  return emu;
}

async function admin(
  emu: ZohoEmulator,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${emu.url}/__admin${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

async function token(emu: ZohoEmulator, params: Record<string, string>): Promise<Json> {
  const res = await fetch(`${emu.url}/oauth/v2/token`, { method: 'POST', body: new URLSearchParams(params) });
  return (await res.json()) as Json;
}

const exchange = (emu: ZohoEmulator, code: string, extra: Record<string, string> = {}) =>
  token(emu, {
    grant_type: 'authorization_code',
    client_id: CLIENT.clientId,
    client_secret: CLIENT.clientSecret,
    code,
    ...extra,
  });

async function org(emu: ZohoEmulator, access: string): Promise<number> {
  const res = await fetch(`${emu.url}/crm/v8/org`, { headers: { authorization: `Bearer ${access}` } });
  await res.body?.cancel();
  return res.status;
}

describe('admin API', () => {
  test('is off unless asked for: /__admin is just an unknown path', async (t) => {
    const emu = await startZohoEmulator({ clients: [CLIENT] });
    t.after(() => emu.close());
    assert.equal(emu.adminUrl, undefined);
    const res = await fetch(`${emu.url}/__admin/codes`, { method: 'POST' });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { status: 'failure', error: 'not_found' });
  });

  test('mints a Self Client code that exchanges; lists tokens by id, never by value', async (t) => {
    const emu = await start(t, { now: Date.UTC(2030, 0, 1) });
    assert.equal(emu.adminUrl, `${emu.url}/__admin`);
    const minted = await admin(emu, 'POST', '/codes', { user: USER, scopes: 'ZohoCRM.modules.ALL,ZohoCRM.org.READ' });
    assert.equal(minted.status, 201);
    assert.match(String(minted.body['code']), TOKEN_SHAPE);
    assert.deepEqual(
      { ...minted.body, code: 'x' },
      {
        code: 'x',
        clientId: CLIENT.clientId, // the only client: no need to name it
        user: USER,
        scopes: ['ZohoCRM.modules.ALL', 'ZohoCRM.org.READ'],
        dc: 'us',
        expiresAt: Date.UTC(2030, 0, 1) + 180_000,
        accountsUrl: emu.url,
      },
    );
    const tokens = await exchange(emu, minted.body['code'] as string);
    const access = tokens['access_token'] as string;
    const refresh = tokens['refresh_token'] as string;
    assert.equal(await org(emu, access), 200);

    const listed = await admin(emu, 'GET', '/tokens');
    assert.equal(listed.status, 200);
    const text = JSON.stringify(listed.body);
    assert.ok(!text.includes(access) && !text.includes(refresh), 'a listing never carries a token value');
    const rows = listed.body['tokens'] as Json[];
    assert.deepEqual(
      rows.map((r) => [r['type'], r['user'], r['clientId'], r['dc'], r['expiresAt']]),
      [
        ['refresh', USER, CLIENT.clientId, 'us', undefined],
        ['access', USER, CLIENT.clientId, 'us', Date.UTC(2030, 0, 1) + HOUR],
      ],
    );
    assert.equal(rows[1]!['refreshTokenId'], rows[0]!['id']);
    assert.match(String(rows[0]!['id']), /^[0-9a-f]{16}$/);

    // The code is single-use, as at Zoho.
    assert.deepEqual(await exchange(emu, minted.body['code'] as string), { error: 'invalid_code' });
  });

  test('clock: advance past expiry kills the access token; set jumps; bad input is a typed 400', async (t) => {
    const emu = await start(t, { now: Date.UTC(2030, 0, 1) });
    const { body } = await admin(emu, 'POST', '/codes', { user: USER, scopes: ['ZohoCRM.org.READ'] });
    const access = (await exchange(emu, body['code'] as string))['access_token'] as string;
    assert.deepEqual((await admin(emu, 'GET', '/clock')).body, {
      mode: 'manual',
      now: Date.UTC(2030, 0, 1),
      iso: '2030-01-01T00:00:00.000Z',
    });
    assert.equal(
      (await admin(emu, 'POST', '/clock', { advance: '59m59s' })).body['now'],
      Date.UTC(2030, 0, 1) + HOUR - 1000,
    );
    assert.equal(await org(emu, access), 200);
    assert.equal((await admin(emu, 'POST', '/clock', { advance: 1000 })).body['iso'], '2030-01-01T01:00:00.000Z');
    assert.equal(await org(emu, access), 401);
    assert.equal(
      (await admin(emu, 'POST', '/clock', { set: '2031-06-01T12:00:00Z' })).body['now'],
      Date.UTC(2031, 5, 1, 12),
    );
    assert.equal(emu.clock.now(), Date.UTC(2031, 5, 1, 12));
    for (const [bad, field] of [
      [{ advance: '1 fortnight' }, 'advance'],
      [{ advance: -5 }, 'advance'],
      [{ set: 'tomorrow' }, 'set'],
      [{}, 'advance'],
      [{ advance: 1, set: 2 }, 'advance'],
    ] as const) {
      const res = await admin(emu, 'POST', '/clock', bad);
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(res.body['error'], 'invalid_argument');
      assert.equal(res.body['field'], field);
    }
  });

  test('faults: add, list, remove by id, clear; they apply to traffic, not to admin calls', async (t) => {
    const emu = await start(t);
    const added = await admin(emu, 'POST', '/faults', { kind: 'status', target: 'token', status: 503, times: 2 });
    assert.equal(added.status, 201);
    assert.deepEqual(added.body, {
      id: 1,
      kind: 'status',
      target: 'token',
      dc: null,
      times: 2,
      ms: 1000,
      status: 503,
      remaining: 2,
    });
    const res = await fetch(`${emu.url}/oauth/v2/token`, { method: 'POST', body: 'grant_type=refresh_token' });
    assert.equal(res.status, 503);
    await res.body?.cancel();
    assert.equal(((await admin(emu, 'GET', '/faults')).body['faults'] as Json[])[0]!['remaining'], 1);
    await admin(emu, 'POST', '/faults', { kind: 'throttle', target: 'api' });
    assert.deepEqual((await admin(emu, 'DELETE', '/faults/1')).body, { removed: 1 });
    assert.equal((await admin(emu, 'DELETE', '/faults/1')).status, 404);
    assert.deepEqual((await admin(emu, 'DELETE', '/faults?target=api')).body, { removed: 1 });
    assert.deepEqual((await admin(emu, 'GET', '/faults')).body, { faults: [] });
    const bad = await admin(emu, 'POST', '/faults', { kind: 'explode' });
    assert.deepEqual([bad.status, bad.body['field']], [400, 'kind']);
    const unknown = await admin(emu, 'POST', '/faults', { kind: 'reset', when: 'now' });
    assert.deepEqual([unknown.status, unknown.body['field']], [400, 'when']);
  });

  test('stats: read and reset; admin requests are not counted', async (t) => {
    const emu = await start(t);
    await admin(emu, 'GET', '/clock');
    await (await fetch(`${emu.url}/crm/v8/org`)).body?.cancel();
    const stats = await admin(emu, 'GET', '/stats');
    assert.equal(stats.body['requests'], 1);
    assert.equal(stats.body['apiErrors'], 1);
    assert.deepEqual(stats.body['byEndpoint'], { 'GET /crm/v8/org': 1 });
    assert.deepEqual((await admin(emu, 'DELETE', '/stats')).body, { reset: true });
    assert.equal((await admin(emu, 'GET', '/stats')).body['requests'], 0);
    assert.equal(emu.stats().requests, 0);
  });

  test('clients and users: add, list (no secrets); a generated secret is answered once', async (t) => {
    const emu = await start(t, { dataCenters: ['us', 'eu'] });
    const added = await admin(emu, 'POST', '/clients', { redirectUris: ['http://localhost:9000/cb'], dc: 'eu' });
    assert.equal(added.status, 201);
    assert.match(String(added.body['clientId']), /^1000\.[A-Z0-9]{30}$/);
    assert.match(String(added.body['clientSecret']), /^[0-9a-f]{42}$/);
    assert.equal(added.body['dc'], 'eu');
    const listed = await admin(emu, 'GET', '/clients');
    assert.deepEqual(listed.body['clients'], [
      { clientId: CLIENT.clientId, redirectUris: CLIENT.redirectUris, dc: 'us', dataCenters: ['us'] },
      { clientId: added.body['clientId'], redirectUris: ['http://localhost:9000/cb'], dc: 'eu', dataCenters: ['eu'] },
    ]);
    assert.ok(!JSON.stringify(listed.body).includes(CLIENT.clientSecret));
    // The new client works at its data center.
    const code = await admin(emu, 'POST', '/codes', {
      clientId: added.body['clientId'],
      user: USER,
      scopes: 'ZohoCRM.users.READ',
    });
    assert.equal(code.body['accountsUrl'], emu.environmentFor('eu').accountsUrl);
    const bad = await admin(emu, 'POST', '/clients', { dc: 'jp' });
    assert.deepEqual([bad.status, bad.body['field']], [400, 'dc']);
    // Two clients now: a code must name one.
    const ambiguous = await admin(emu, 'POST', '/codes', { user: USER, scopes: 'ZohoCRM.users.READ' });
    assert.deepEqual([ambiguous.status, ambiguous.body['field']], [400, 'clientId']);

    const user = await admin(emu, 'POST', '/users', { email: 'bob.smith@example.com', dataCenters: ['eu'] });
    assert.equal(user.status, 201);
    const users = (await admin(emu, 'GET', '/users')).body['users'] as Json[];
    assert.deepEqual(
      users.map((u) => [u['email'], u['dc'], u['fullName']]),
      [
        [USER, 'eu'],
        ['bob.smith@example.com', 'eu', 'Bob Smith'],
      ].map(([e, d, n]) => [e, d, n ?? 'Ana']),
    );
    assert.equal((await admin(emu, 'POST', '/users', { email: 'nope' })).body['field'], 'email');
  });

  test('consents: a shown page is pending; approve it by id (or the only one) without the URL', async (t) => {
    const emu = await start(t);
    const authUrl = new URL('/oauth/v2/auth', emu.url);
    for (const [k, v] of Object.entries({
      client_id: CLIENT.clientId,
      response_type: 'code',
      redirect_uri: CLIENT.redirectUris[0]!,
      scope: 'ZohoCRM.org.READ',
      access_type: 'offline',
      state: 's1',
    }))
      authUrl.searchParams.set(k, v);
    const page = await fetch(authUrl);
    assert.equal(page.status, 200);
    await page.text();
    const pending = (await admin(emu, 'GET', '/consents')).body['consents'] as Json[];
    assert.equal(pending.length, 1);
    assert.equal(pending[0]!['clientId'], CLIENT.clientId);
    assert.equal(pending[0]!['scopes'], 'ZohoCRM.org.READ');
    const noUser = await admin(emu, 'POST', '/consents/approve', { id: pending[0]!['id'] });
    assert.deepEqual([noUser.status, noUser.body['field']], [400, 'user']);
    const approved = await admin(emu, 'POST', '/consents/approve', { user: USER });
    assert.equal(approved.status, 200);
    const location = new URL(approved.body['location'] as string);
    assert.equal(location.origin + location.pathname, CLIENT.redirectUris[0]);
    assert.equal(location.searchParams.get('state'), 's1');
    const tokens = await exchange(emu, location.searchParams.get('code')!, { redirect_uri: CLIENT.redirectUris[0]! });
    assert.match(String(tokens['refresh_token']), TOKEN_SHAPE);
    assert.deepEqual((await admin(emu, 'GET', '/consents')).body, { consents: [] });
    const none = await admin(emu, 'POST', '/consents/approve', { user: USER });
    assert.deepEqual([none.status, none.body['field']], [400, 'id']);
    // A URL works without a shown page, and deny redirects with access_denied.
    const denied = await admin(emu, 'POST', '/consents/deny', { url: authUrl.href });
    assert.equal(new URL(denied.body['location'] as string).searchParams.get('error'), 'access_denied');
  });

  test('protection: token, Origin, JSON bodies, unknown routes and methods', async (t) => {
    const emu = await start(t, { admin: { token: 'admin-token-123' } });
    assert.equal((await admin(emu, 'GET', '/clock')).status, 401);
    assert.equal((await admin(emu, 'GET', '/clock', undefined, { authorization: 'Bearer wrong-token' })).status, 401);
    const ok = { authorization: 'Bearer admin-token-123' };
    assert.equal((await admin(emu, 'GET', '/clock', undefined, ok)).status, 200);
    const browser = await admin(emu, 'GET', '/clock', undefined, { ...ok, origin: 'http://example.com' });
    assert.equal(browser.status, 403);
    const form = await fetch(`${emu.url}/__admin/clock`, {
      method: 'POST',
      headers: ok,
      body: new URLSearchParams({ advance: '1' }),
    });
    assert.equal(form.status, 400);
    assert.equal(((await form.json()) as Json)['message'], 'admin request bodies must be application/json');
    assert.equal((await admin(emu, 'GET', '/nothing', undefined, ok)).status, 404);
    const wrongMethod = await admin(emu, 'DELETE', '/clock', undefined, ok);
    assert.deepEqual(wrongMethod, { status: 405, body: { error: 'method_not_allowed', allow: 'GET, POST' } });
    assert.equal(emu.stats().requests, 0);
  });

  test('without a token, a request naming a non-loopback Host (DNS rebinding) is refused', async (t) => {
    const emu = await start(t, { admin: {} });
    const port = new URL(emu.url).port;
    const get = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${emu.url}/__admin/clock`, { headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await get(`rebind.attacker.example:${port}`), 403);
    assert.equal(await get(`127.0.0.1:${port}`), 200);
    assert.equal(await get(`localhost:${port}`), 200);
  });

  test('refuses to serve the admin API on a non-loopback host without a token', async () => {
    await assert.rejects(
      startZohoEmulator({ host: '0.0.0.0', admin: {} }),
      (error) => isZohoTokenError(error, 'INVALID_ARGUMENT') && error.field === 'admin.token',
    );
    await assert.rejects(
      startZohoEmulator({ admin: { token: 'short' } }),
      (error) => isZohoTokenError(error, 'INVALID_ARGUMENT') && error.field === 'admin.token',
    );
  });
});

describe('real clock', () => {
  test('follows the host clock; advance and set shift it', async (t) => {
    const before = Date.now();
    const emu = await start(t, { clock: 'real' });
    const now = emu.clock.now();
    assert.ok(now >= before && now <= Date.now(), 'starts at the host time');
    emu.clock.advance(HOUR);
    assert.ok(emu.clock.now() >= now + HOUR);
    emu.clock.set(Date.UTC(2040, 0, 1));
    const after = emu.clock.now();
    assert.ok(after >= Date.UTC(2040, 0, 1) && after < Date.UTC(2040, 0, 1) + 60_000);
    assert.equal((await admin(emu, 'GET', '/clock')).body['mode'], 'real');
    assert.throws(
      () => emu.clock.advance(-1),
      (error) => isZohoTokenError(error, 'INVALID_ARGUMENT'),
    );
  });
});

describe('config file', () => {
  const dir = tempDir('emu-config');

  test('a full config starts an emulator with its clients, users, limits and lifetimes', async (t) => {
    const file = join(dir, 'full.json');
    writeFileSync(
      file,
      JSON.stringify({
        dataCenters: ['us', 'eu'],
        clock: 'manual',
        startTime: '2030-01-01T00:00:00Z',
        clients: [{ ...CLIENT, dc: 'eu' }],
        users: ['ana@example.com', { email: 'bob@example.com', dataCenters: ['us'] }],
        accessTokenLifetimeSec: 60,
        limits: { mintsPerWindow: 2 },
        companyName: 'Config Org',
      }),
    );
    const options = await loadEmulatorConfig(file);
    const emu = await start(t, options);
    assert.equal(emu.clock.now(), Date.UTC(2030, 0, 1));
    const users = (await admin(emu, 'GET', '/users')).body['users'] as Json[];
    assert.deepEqual(
      users.map((u) => `${u['dc']}:${u['email']}`),
      ['us:ana@example.com', 'us:bob@example.com', 'eu:ana@example.com'],
    );
    const code = await admin(emu, 'POST', '/codes', { user: USER, scopes: 'ZohoCRM.org.READ' });
    const eu = emu.environmentFor('eu').accountsUrl;
    const body = (await (
      await fetch(`${eu}/oauth/v2/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: CLIENT.clientId,
          client_secret: CLIENT.clientSecret,
          code: code.body['code'] as string,
        }),
      })
    ).json()) as Json;
    assert.equal(body['expires_in'], 60);
    const overview = (await admin(emu, 'GET', '/')).body;
    assert.equal((overview['limits'] as Json)['mintsPerWindow'], 2);
    assert.deepEqual(overview['dataCenters'], { us: emu.url, eu });
  });

  test('wrong settings are typed errors naming the setting', async () => {
    const cases: [unknown, string][] = [
      [[], 'config'],
      [{ clinets: [] }, 'clinets'],
      [{ clients: [{ ...CLIENT, redirectUris: ['http://a/cb', 7] }] }, 'clients[0].redirectUris[1]'],
      [{ clients: [{ ...CLIENT, secret: 'x' }] }, 'clients[0].secret'],
      [{ clock: 'fast' }, 'clock'],
      [{ limits: { mintsPerWindow: '10' } }, 'limits.mintsPerWindow'],
      [{ users: [{ mail: 'a@b.c' }] }, 'users[0].mail'],
      [{ startTime: 'yesterday' }, 'startTime'],
      [{ deadTokenError: 'NOPE' }, 'deadTokenError'],
      [{ ports: { eu: 'x' } }, 'ports.eu'],
    ];
    for (const [document, field] of cases) {
      assert.throws(
        () => parseEmulatorConfig(document),
        (error) => isZohoTokenError(error, 'INVALID_ARGUMENT') && error.field === field,
        JSON.stringify(document),
      );
    }
    // Ranges are checked when the emulator starts, with the same names.
    await assert.rejects(
      startZohoEmulator(parseEmulatorConfig({ limits: { mintsPerWindow: 0 } })),
      (error) => isZohoTokenError(error, 'INVALID_ARGUMENT') && error.field === 'limits.mintsPerWindow',
    );
    await assert.rejects(
      startZohoEmulator(parseEmulatorConfig({ clients: [{ ...CLIENT, dc: 'jp' }] })),
      (error) => isZohoTokenError(error, 'INVALID_ARGUMENT') && error.field === 'dc',
    );
  });

  test('an unreadable or non-JSON file is a typed error that never quotes the file', async () => {
    await assert.rejects(
      loadEmulatorConfig(join(dir, 'missing.json')),
      (error) =>
        isZohoTokenError(error, 'INVALID_ARGUMENT') && error.field === 'config' && /\(ENOENT\)$/.test(error.message),
    );
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"clients":[{"clientSecret": hunter2-secret}]}');
    await assert.rejects(
      loadEmulatorConfig(file),
      (error) =>
        isZohoTokenError(error, 'INVALID_ARGUMENT') &&
        error.field === 'config' &&
        error.message.includes('is not valid JSON') &&
        !error.message.includes('hunter2'),
    );
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ clients: [{ clientId: 'x', clientSecret: 'hunter2-secret', dc: 5 }] }));
    await assert.rejects(
      loadEmulatorConfig(wrong),
      (error) =>
        isZohoTokenError(error, 'INVALID_ARGUMENT') &&
        error.field === 'clients[0].dc' &&
        error.message === `config file ${wrong}: clients[0].dc must be a non-empty string`,
    );
  });
});

describe('emulator admin subcommands', () => {
  /** The standalone entry, as `npm run emulator -- …` runs it (sources through tsx). */
  function emulatorCli(
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ code: number; out: string; err: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--conditions=zoho-token-store-source', '--import', 'tsx', ENTRY, ...args],
        { env: { ...process.env, ZOHO_EMULATOR_URL: '', ZOHO_EMULATOR_ADMIN_TOKEN: '', ...env }, timeout: 60_000 },
        (error, stdout, stderr) =>
          resolve({
            code: error === null ? 0 : Number((error as { code?: number }).code ?? 1),
            out: stdout,
            err: stderr,
          }),
      );
    });
  }

  test('code, clock advance, fault add and bad usage, against a running emulator', async (t) => {
    const emu = await start(t, { now: Date.UTC(2030, 0, 1), admin: { token: 'cli-admin-token' } });
    const env = { ZOHO_EMULATOR_URL: emu.url, ZOHO_EMULATOR_ADMIN_TOKEN: 'cli-admin-token' };
    const code = await emulatorCli(['code', '--user', USER, '--scopes', 'ZohoCRM.org.READ'], env);
    assert.equal(code.code, 0, code.err);
    assert.match(code.out, /^1000\.[0-9a-f]{32}\.[0-9a-f]{32}\n$/);
    assert.match(String((await exchange(emu, code.out.trim()))['access_token']), TOKEN_SHAPE);
    const [clock, fault, usage, refused, help] = await Promise.all([
      emulatorCli(['clock', 'advance', '90m', '--url', emu.url, '--admin-token', 'cli-admin-token']),
      emulatorCli(['fault', 'add', '--kind', 'status', '--target', 'api', '--status', '500', '--times', '1'], env),
      emulatorCli(['fault', 'add', '--target', 'api'], env),
      emulatorCli(['stats'], { ZOHO_EMULATOR_URL: emu.url }),
      emulatorCli(['code', '--help']),
    ]);
    assert.deepEqual([clock.code, clock.out], [0, '2030-01-01T01:30:00.000Z (manual clock)\n']);
    assert.deepEqual([fault.code, fault.out], [0, 'fault 1 added\n']);
    assert.equal(emu.faults.list()[0]?.spec.status, 500);
    assert.deepEqual([usage.code, usage.err], [2, 'error: fault needs --kind (USAGE)\n']);
    assert.deepEqual([refused.code, refused.err], [1, 'error: admin token missing or wrong\n']);
    assert.equal(help.code, 0);
    assert.match(help.out, /^Commands that drive a running emulator through its admin API:\n/);
    assert.match(help.out, /npm run emulator -- code --user EMAIL --scopes S/);
  });
});
