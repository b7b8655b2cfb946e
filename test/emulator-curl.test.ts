// "Any language can use it": the standalone emulator in a child process, driven only by `curl`
// child processes (admin API + OAuth + CRM), no JavaScript HTTP client. Real clock (the standalone
// default), moved forward through the admin API instead of waiting.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers/temp.js';

const ENTRY = fileURLToPath(new URL('../src/emulator/cli.ts', import.meta.url));
const CLIENT_ID = '1000.CURLTESTCLIENT0000000000000001';
const CLIENT_SECRET = 'curl-test-client-secret';
const ADMIN_TOKEN = 'curl-admin-token-123';
const USER = 'ana@example.com';
const TOKEN_SHAPE = /^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$/;
const THROTTLED = {
  error: 'Access Denied',
  error_description: 'You have made too many requests continuously. Please try again after some time.',
  status: 'failure',
};
const INVALID_TOKEN = { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' };

const noCurl =
  spawnSync('curl', ['--version']).status === 0 ? false : 'curl is not installed: nothing to drive the emulator with';

type Json = Record<string, unknown>;

/** Runs `curl` with `args`; answers the HTTP status and the body parsed as JSON. */
function curl(args: string[]): Promise<{ status: number; body: Json }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '30', '-w', '\n%{http_code}', ...args], (error, stdout, stderr) => {
      if (error !== null) return reject(new Error(`curl failed: ${stderr}`));
      const cut = stdout.lastIndexOf('\n');
      const text = stdout.slice(0, cut);
      resolve({ status: Number(stdout.slice(cut + 1)), body: text === '' ? {} : (JSON.parse(text) as Json) });
    });
  });
}

/** Starts the standalone emulator (`npm run emulator -- …` through tsx) and waits for its URL. */
function startStandalone(
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; url: Promise<string>; exit: Promise<{ code: number | null; out: string; err: string }> } {
  const child = spawn(process.execPath, ['--conditions=zoho-token-store-source', '--import', 'tsx', ENTRY, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exit = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, out, err })),
  );
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /Zoho emulator listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match !== null) resolve(match[1]!);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    void exit.then(({ code }) => reject(new Error(`emulator exited (${code}) before listening: ${err}`)));
  });
  return { child, url, exit };
}

describe('standalone emulator driven by curl only', { skip: noCurl }, () => {
  const dir = tempDir('emu-curl');
  let emulator: ReturnType<typeof startStandalone>;
  let base = '';

  before(async () => {
    const config = join(dir, 'emulator.json');
    writeFileSync(
      config,
      JSON.stringify({
        clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: ['http://localhost:3000/cb'] }],
        users: [USER],
      }),
    );
    emulator = startStandalone(['--port', '0', '--config', config], { ZOHO_EMULATOR_ADMIN_TOKEN: ADMIN_TOKEN });
    base = await emulator.url;
  });

  after(async () => {
    if (emulator.child.exitCode === null) emulator.child.kill('SIGTERM');
    await emulator.exit;
  });

  const adminCall = (method: string, path: string, body?: Json) =>
    curl([
      '-X',
      method,
      '-H',
      `Authorization: Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? [] : ['-H', 'Content-Type: application/json', '--data', JSON.stringify(body)]),
      `${base}/__admin${path}`,
    ]);
  const tokenCall = (params: Record<string, string>) =>
    curl([...Object.entries(params).flatMap(([k, v]) => ['--data-urlencode', `${k}=${v}`]), `${base}/oauth/v2/token`]);
  const refresh = (refreshToken: string) =>
    tokenCall({
      grant_type: 'refresh_token',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      refresh_token: refreshToken,
    });
  const org = (access: string, scheme = 'Zoho-oauthtoken') =>
    curl(['-H', `Authorization: ${scheme} ${access}`, `${base}/crm/v8/org`]);

  test('runs on the real clock, with the admin API behind its token', async () => {
    const clock = await adminCall('GET', '/clock');
    assert.equal(clock.status, 200);
    assert.equal(clock.body['mode'], 'real');
    assert.ok(Math.abs((clock.body['now'] as number) - Date.now()) < 60_000, 'real time');
    assert.equal((await curl([`${base}/__admin/clock`])).status, 401, 'no token, no admin');
  });

  test('mint, exchange, refresh, expiry by clock advance, throttle and its expiry', async () => {
    // Self Client code through the admin API.
    const minted = await adminCall('POST', '/codes', { user: USER, scopes: 'ZohoCRM.org.READ,ZohoCRM.users.READ' });
    assert.equal(minted.status, 201);
    const code = minted.body['code'] as string;
    assert.match(code, TOKEN_SHAPE);

    // Exchange at the token endpoint.
    const exchanged = await tokenCall({
      grant_type: 'authorization_code',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      code,
    });
    assert.equal(exchanged.status, 200);
    assert.deepEqual(Object.keys(exchanged.body), [
      'access_token',
      'refresh_token',
      'scope',
      'api_domain',
      'token_type',
      'expires_in',
    ]);
    assert.equal(exchanged.body['api_domain'], base);
    assert.equal(exchanged.body['expires_in'], 3600);
    const first = exchanged.body['access_token'] as string;
    const refreshToken = exchanged.body['refresh_token'] as string;
    assert.equal((await org(first)).status, 200);
    assert.equal((await org(first, 'Bearer')).status, 200);

    // Refresh: a new access token, no new refresh token (Zoho does not rotate them).
    const refreshed = await refresh(refreshToken);
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.body['refresh_token'], undefined);
    const second = refreshed.body['access_token'] as string;
    assert.match(second, TOKEN_SHAPE);
    assert.notEqual(second, first);

    // Past the hour both access tokens are dead; the refresh token still works.
    const advanced = await adminCall('POST', '/clock', { advance: '3601s' });
    assert.equal(advanced.status, 200);
    assert.deepEqual(await org(first), { status: 401, body: INVALID_TOKEN });
    assert.deepEqual(await org(second, 'Bearer'), { status: 401, body: INVALID_TOKEN });

    // 10 refreshes in 10 minutes are fine (the one an hour ago left the window); the 11th is throttled.
    const minted10: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await refresh(refreshToken);
      assert.equal(r.status, 200);
      assert.match(String(r.body['access_token']), TOKEN_SHAPE, `refresh ${i + 1}`);
      minted10.push(r.body['access_token'] as string);
    }
    assert.deepEqual(await refresh(refreshToken), { status: 200, body: THROTTLED });
    assert.deepEqual(await refresh(refreshToken), { status: 200, body: THROTTLED }, 'still throttled');
    assert.equal((await org(minted10.at(-1)!)).status, 200, 'the throttle does not kill live tokens');

    // Ten minutes later the window has emptied: refreshing works again.
    assert.equal((await adminCall('POST', '/clock', { advance: '10m' })).status, 200);
    const again = await refresh(refreshToken);
    assert.equal(again.status, 200);
    assert.match(String(again.body['access_token']), TOKEN_SHAPE);
    assert.equal((await org(again.body['access_token'] as string)).status, 200);

    // The counters saw it all.
    const stats = await adminCall('GET', '/stats');
    assert.equal(stats.body['grantSuccesses'], 1);
    assert.equal(stats.body['refreshSuccesses'], 12);
    assert.equal(stats.body['refreshThrottled'], 2);
    assert.deepEqual(stats.body['byError'], { INVALID_TOKEN: 2, 'Access Denied': 2 });
  });

  test('faults injected with curl hit the next request only', async () => {
    const added = await adminCall('POST', '/faults', { kind: 'status', target: 'api', status: 503, times: 1 });
    assert.equal(added.status, 201);
    const res = await new Promise<string>((resolve, reject) =>
      execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${base}/crm/v8/org`], (e, out) =>
        e === null ? resolve(out) : reject(e),
      ),
    );
    assert.equal(res, '503');
    assert.deepEqual((await curl([`${base}/crm/v8/org`])).body['code'], 'AUTHENTICATION_FAILURE');
    assert.deepEqual((await adminCall('GET', '/faults')).body, { faults: [] });
  });

  test('stops cleanly on SIGTERM', async () => {
    emulator.child.kill('SIGTERM');
    const { code, out } = await emulator.exit;
    assert.equal(code, 0);
    assert.match(out, new RegExp(`client_id: {6}${CLIENT_ID.replace('.', '\\.')} \\(from the config\\)`));
    assert.match(out, /clock: {10}real time\n/);
    assert.match(out, /admin API: {6}http:\/\/127\.0\.0\.1:\d+\/__admin \(token required\)\n/);
    assert.ok(!out.includes(CLIENT_SECRET), 'the config secret is never printed');
    assert.ok(!out.includes(ADMIN_TOKEN), 'the admin token is never printed');
    assert.match(out, /Zoho emulator stopped\.\n$/);
  });
});

describe('standalone emulator options', { skip: noCurl }, () => {
  const dir = tempDir('emu-curl-options');

  test('--manual-clock stops time; --no-admin serves no admin API; a bad config file does not start', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ clients: [{ clientId: 'x', clientSecret: 'curl-bad-secret', dc: 5 }] }));
    const manual = startStandalone(['--port', '0', '--manual-clock'], { ZOHO_EMULATOR_ADMIN_TOKEN: '' });
    const noAdmin = startStandalone(['--port', '0', '--no-admin'], { ZOHO_EMULATOR_ADMIN_TOKEN: '' });
    const broken = startStandalone(['--config', bad], {});
    await assert.rejects(broken.url, /exited \(1\) before listening/);
    try {
      const [manualUrl, noAdminUrl] = await Promise.all([manual.url, noAdmin.url]);
      const first = await curl([`${manualUrl}/__admin/clock`]);
      assert.equal(first.body['mode'], 'manual');
      const second = await curl([`${manualUrl}/__admin/clock`]);
      assert.equal(second.body['now'], first.body['now'], 'a manual clock stands still');
      assert.deepEqual(await curl([`${noAdminUrl}/__admin/clock`]), {
        status: 404,
        body: { status: 'failure', error: 'not_found' },
      });
    } finally {
      manual.child.kill('SIGTERM');
      noAdmin.child.kill('SIGTERM');
    }
    assert.match((await manual.exit).out, /clock: {10}manual \(moves only with "clock advance"\)\n/);
    assert.match((await noAdmin.exit).out, /admin API: {6}off\n/);
    const { code, err } = await broken.exit;
    assert.equal(code, 1);
    assert.equal(err, `INVALID_ARGUMENT: config file ${bad}: clients[0].dc must be a non-empty string\n`);
    assert.ok(!err.includes('curl-bad-secret'));
  });

  test('a non-loopback host without an admin token does not start', async () => {
    const run = startStandalone(['--port', '0', '--host', '0.0.0.0'], { ZOHO_EMULATOR_ADMIN_TOKEN: '' });
    await assert.rejects(run.url);
    const { code, err } = await run.exit;
    assert.equal(code, 1);
    assert.equal(err, 'INVALID_ARGUMENT: the admin API on non-loopback host "0.0.0.0" needs admin.token\n');
  });
});
