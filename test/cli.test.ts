// The zoho-tokens CLI as a user runs it: the BUILT bin in a child process, against an in-process
// emulator and SQLite files in a temp dir. Stdout, stderr and exit codes are checked by value.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OAuthToken, SqliteStore } from 'zoho-token-store';
import { startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { BIN, ensureBuilt } from './helpers/built-bin.js';
import { MARIADB, POSTGRES, skipUnlessReachable } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';
import { openRawDefault } from './helpers/sqlite-drivers.js';

const CLIENT_ID = '1000.CLITESTCLIENTAAAAAAAAAAAAAAAAA';
const CLIENT_SECRET = 'c11e5ec12e7c11e5ec12e7c11e5ec12e7c11e5ec1';
const SCOPES = ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ'];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Every output printed without --show-secrets, and every secret value seen: checked at the end. */
const shown: string[] = [];
const secrets = new Set<string>([CLIENT_SECRET]);

let emu: ZohoEmulator;
let callbackPort: number;
const dir = tempDir('cli');
const mysqlSkip = await skipUnlessReachable(MARIADB);
let dbCount = 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A fresh SQLite file for one test. */
function newDb(): string {
  return join(dir, `tokens-${++dbCount}.db`);
}

function baseEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith('ZOHO_')) env[key] = value;
  return { ...env, ZOHO_CLIENT_ID: CLIENT_ID, ZOHO_CLIENT_SECRET: CLIENT_SECRET, ...extra };
}

/** A running CLI process whose output can be awaited line by line. */
class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly done: Promise<Run>;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: baseEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    const guard = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    this.done = new Promise((resolve) => {
      this.child.on('close', (code) => {
        clearTimeout(guard);
        const run = { code, stdout: this.stdout, stderr: this.stderr };
        if (!args.includes('--show-secrets')) shown.push(run.stdout, run.stderr);
        resolve(run);
      });
    });
  }

  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.stdout) ?? pattern.exec(this.stderr);
      if (match) return match;
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`no ${pattern} in the output:\n${this.stdout}\n${this.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new CliProcess(args, env).done;
}

/** Global options pointing at the emulator and one SQLite file. */
function at(db: string): string[] {
  return ['--store', `sqlite:${db}`, '--dc', `custom:${emu.url},${emu.url}`];
}

function assertExit(run: Run, code: number): void {
  assert.equal(run.code, code, `exit code ${run.code}, expected ${code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
}

async function storedTokens(db: string): Promise<OAuthToken[]> {
  const store = new SqliteStore({ filename: db });
  try {
    const tokens = await store.getTokens();
    for (const t of tokens)
      for (const s of [t.refreshToken, t.accessToken, t.grantToken, t.clientSecret]) if (s) secrets.add(s);
    return tokens;
  } finally {
    await store.close();
  }
}

/** Self Client login through the CLI; returns the stored token. */
async function login(db: string, user: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Run> {
  const code = await emu.createGrantCode({ clientId: CLIENT_ID, user, scopes: SCOPES });
  secrets.add(code);
  const run = await cli([...at(db), 'login', '--code', code, '--user', user, ...extra], env);
  assertExit(run, 0);
  return run;
}

before(async () => {
  ensureBuilt();
  callbackPort = await freePort();
  emu = await startZohoEmulator({
    clients: [
      { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`http://127.0.0.1:${callbackPort}/callback`] },
    ],
    // Every test logs in afresh: more Self Client codes than Zoho's 10 per 10 minutes.
    limits: { grantCodesPerWindow: 1000 },
  });
});

after(() => emu?.close());

describe('zoho-tokens CLI', () => {
  it('prints --help for the program and every command, with exit code 0', async () => {
    const main = await cli(['--help']);
    assertExit(main, 0);
    assert.match(main.stdout, /Usage: zoho-tokens \[options\] \[command\]/);
    assert.match(
      main.stdout,
      /Exit codes:\n {2}0 {2}success\n {2}1 .*\n {2}2 {2}usage error.*\n {2}3 {2}authentication required.*\n {2}4 .*\n {2}5 {2}token store error.*\n {2}6 {2}no such token\n {2}7 {2}cancelled/,
    );
    for (const command of [
      'login',
      'list',
      'show',
      'refresh',
      'revoke',
      'bind',
      'delete',
      'purge',
      'migrate',
      'rotate-key',
      'completion',
    ]) {
      const run = await cli([command, '--help']);
      assertExit(run, 0);
      assert.match(run.stdout, new RegExp(`^Usage: zoho-tokens ${command}[ |]`), command);
      assert.match(run.stdout, /Examples:/, command);
    }
    const emulator = await cli(['emulator', '--help']);
    assertExit(emulator, 0);
    assert.match(emulator.stdout, /^Usage: zoho-tokens emulator \[options\]/);
  });

  it('login --code (Self Client) stores the user; list shows it with a positive expiry', async () => {
    const db = newDb();
    const run = await login(db, 'alice@example.com');
    assert.match(
      run.stdout,
      /^Logged in alice@example\.com: stored as token 1 in sqlite:.*; the access token expires in 59m \d+s\.\n$/,
    );
    assert.equal(run.stderr, '');
    const list = await cli([...at(db), 'list']);
    assertExit(list, 0);
    const [header, row, ...rest] = list.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID +USER +CLIENT +DATA CENTER +EXPIRES IN +STATUS$/);
    assert.match(
      row!,
      new RegExp(
        `^1 +alice@example\\.com +${CLIENT_ID.replace('.', '\\.')} +custom \\(127\\.0\\.0\\.1:\\d+\\) +59m \\d+s +valid$`,
      ),
    );
    assert.deepEqual(rest, []);
  });

  it('login learns the user from the CRM when --user is not given', async () => {
    const db = newDb();
    const code = await emu.createGrantCode({ clientId: CLIENT_ID, user: 'carol@example.com', scopes: SCOPES });
    secrets.add(code);
    const run = await cli([...at(db), 'login', '--code', code]);
    assertExit(run, 0);
    assert.match(run.stdout, /^Logged in carol@example\.com: stored as token 1/);
  });

  it('list --json has the documented shape, secrets redacted', async () => {
    const db = newDb();
    await login(db, 'alice@example.com');
    await login(db, 'bob@example.com');
    const [alice] = await storedTokens(db);
    const run = await cli([...at(db), 'list', '--json']);
    assertExit(run, 0);
    const out = JSON.parse(run.stdout) as { tokens: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(out), ['tokens']);
    assert.equal(out.tokens.length, 2);
    const first = out.tokens[0]!;
    assert.deepEqual(Object.keys(first), [
      'id',
      'user',
      'clientId',
      'clientSecret',
      'refreshToken',
      'accessToken',
      'grantToken',
      'expiresAt',
      'expiresAtIso',
      'expiresInMs',
      'status',
      'environment',
      'accountsUrl',
      'apiDomain',
      'redirectUrl',
    ]);
    assert.equal(first.id, '1');
    assert.equal(first.user, 'alice@example.com');
    assert.equal(first.clientId, CLIENT_ID);
    assert.equal(first.status, 'valid');
    assert.equal(first.expiresAt, alice!.expiresAt);
    assert.equal(first.expiresAtIso, new Date(alice!.expiresAt!).toISOString());
    assert.ok((first.expiresInMs as number) > 59 * 60_000 && (first.expiresInMs as number) <= HOUR);
    assert.equal(first.accountsUrl, emu.url);
    assert.equal(first.apiDomain, emu.url);
    assert.equal(first.redirectUrl, null);
    assert.match(first.refreshToken as string, /^\[redacted #[0-9a-f]{8}\]$/);
    assert.match(first.clientSecret as string, /^\[redacted #[0-9a-f]{8}\]$/);
    assert.equal(out.tokens[1]!.user, 'bob@example.com');
  });

  it('show redacts secrets; --show-secrets reveals them', async () => {
    const db = newDb();
    await login(db, 'alice@example.com');
    const [token] = await storedTokens(db);
    const show = await cli([...at(db), 'show', '1']);
    assertExit(show, 0);
    assert.match(show.stdout, /^id {13}1\nuser {11}alice@example\.com\nclient id {6}1000\.CLITEST/);
    assert.match(show.stdout, /\nrefresh token {2}\[redacted #[0-9a-f]{8}\]\n/);
    assert.match(show.stdout, /\nstatus {9}valid\n/);
    for (const secret of [token!.refreshToken!, token!.accessToken!, CLIENT_SECRET])
      assert.ok(!show.stdout.includes(secret));
    const revealed = await cli([...at(db), 'show', '--user', 'alice@example.com', '--show-secrets']);
    assertExit(revealed, 0);
    assert.ok(revealed.stdout.includes(`\nrefresh token  ${token!.refreshToken}\n`), revealed.stdout);
    assert.ok(revealed.stdout.includes(`\naccess token   ${token!.accessToken}\n`));
    assert.ok(revealed.stdout.includes(`\nclient secret  ${CLIENT_SECRET}\n`));
    const json = JSON.parse((await cli([...at(db), 'show', '1', '--json', '--show-secrets'])).stdout) as {
      token: { refreshToken: string };
    };
    assert.equal(json.token.refreshToken, token!.refreshToken);
    const missing = await cli([...at(db), 'show', '9']);
    assertExit(missing, 6);
    assert.equal(missing.stderr, 'error: no stored token for id "9" (NOT_FOUND)\n');
  });

  it('escapes control and bidi characters of stored values in human output; --json keeps them exact', async () => {
    const db = newDb();
    // A database writer's tricks: clear the screen, an OSC-8 link, a carriage return that draws a
    // fake row, a C1 CSI (one byte in some terminals), right-to-left override; a tab and a newline.
    const user =
      'mallory@example.com\u001b[2J\u001b]8;;https://evil.example/\u0007click\u001b]8;;\u0007\r1  alice@example.com\u009b31m\u202egnp.exe\u2066';
    const clientId = '1000.EVIL\u001b[31m\u007f\u200f';
    const redirectUrl = 'https://x.example/cb\tx\ny\u0085';
    const secret = `evil-client-secret-${randomBytes(8).toString('hex')}`;
    const refreshToken = `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`;
    for (const s of [secret, refreshToken]) secrets.add(s);
    const store = new SqliteStore({ filename: db });
    await store.saveToken(
      new OAuthToken({ userSignature: user, clientId, clientSecret: secret, refreshToken, redirectUrl }),
    );
    await store.close();
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
    const shownUser =
      'mallory@example.com\\x1b[2J\\x1b]8;;https://evil.example/\\x07click\\x1b]8;;\\x07\\r1  alice@example.com\\x9b31m\\u202egnp.exe\\u2066';
    const shownClient = '1000.EVIL\\x1b[31m\\x7f\\u200f';

    const list = await cli([...at(db), 'list']);
    assertExit(list, 0);
    assert.doesNotMatch(list.stdout, raw);
    const rows = list.stdout.trimEnd().split('\n');
    assert.equal(rows.length, 2, list.stdout);
    assert.ok(rows[1]!.startsWith(`1   ${shownUser}  ${shownClient}  -`), rows[1]);

    const show = await cli([...at(db), 'show', '1']);
    assertExit(show, 0);
    assert.doesNotMatch(show.stdout, raw);
    assert.ok(show.stdout.includes(`\nuser           ${shownUser}\n`), show.stdout);
    assert.ok(show.stdout.includes(`\nclient id      ${shownClient}\n`), show.stdout);
    assert.ok(show.stdout.includes('\nredirect url   https://x.example/cb\\tx\\ny\\x85\n'), show.stdout);

    const json = JSON.parse((await cli([...at(db), 'show', '1', '--json'])).stdout) as {
      token: { user: string; clientId: string; redirectUrl: string };
    };
    assert.equal(json.token.user, user);
    assert.equal(json.token.clientId, clientId);
    assert.equal(json.token.redirectUrl, redirectUrl);
    const listed = JSON.parse((await cli([...at(db), 'list', '--json'])).stdout) as { tokens: { user: string }[] };
    assert.equal(listed.tokens[0]!.user, user);

    // Errors that echo a value (here the --user given) escape it too.
    const missing = await cli([...at(db), 'show', '--user', 'x\u009b2J\u202ey']);
    assertExit(missing, 6);
    assert.doesNotMatch(missing.stderr, raw);
    assert.ok(missing.stderr.includes('x\\x9b2J\\u202ey'), missing.stderr);

    const deleted = await cli([...at(db), 'delete', '1', '--yes']);
    assertExit(deleted, 0);
    assert.doesNotMatch(deleted.stdout + deleted.stderr, raw);
    assert.equal(deleted.stdout, `Deleted token 1 (${shownUser}) from the store.\n`);
  });

  it('the web flow: prints the URL, refuses a wrong state, exchanges the code and stores the user', async () => {
    const db = newDb();
    const login = new CliProcess([...at(db), 'login', '--web', '--port', String(callbackPort)]);
    const [, authUrl] = await login.waitFor(/^ {2}(http:\/\/\S+\/oauth\/v2\/auth\?\S+)$/m);
    const url = new URL(authUrl!);
    assert.equal(url.searchParams.get('access_type'), 'offline');
    assert.equal(url.searchParams.get('prompt'), 'consent');
    assert.equal(url.searchParams.get('redirect_uri'), `http://127.0.0.1:${callbackPort}/callback`);
    assert.equal(url.searchParams.get('scope'), 'ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ');
    assert.match(url.searchParams.get('state')!, /^[A-Za-z0-9_-]{43}$/);
    const redirect = new URL(await emu.approve(url, { user: 'dave@example.com' }));
    secrets.add(redirect.searchParams.get('code')!);

    const forged = new URL(redirect);
    forged.searchParams.set('state', 'forged-state');
    const refused = await fetch(forged);
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /state mismatch/);
    await login.waitFor(/refused a redirect whose state does not match/);

    const accepted = await fetch(redirect);
    assert.equal(accepted.status, 200);
    assert.match(await accepted.text(), /Logged in as dave@example\.com/);
    const run = await login.done;
    assertExit(run, 0);
    assert.match(run.stdout, /\nLogged in dave@example\.com: stored as token 1 in sqlite:/);
    const [token] = await storedTokens(db);
    assert.equal(token!.userName, 'dave@example.com');
    assert.ok(token!.refreshToken);
    assert.equal(token!.redirectUrl, `http://127.0.0.1:${callbackPort}/callback`);
  });

  it('the web flow: a denied consent and a missing redirect fail with their codes', async () => {
    const db = newDb();
    const denied = new CliProcess([...at(db), 'login', '--web', '--port', String(callbackPort)]);
    const [, authUrl] = await denied.waitFor(/^ {2}(http:\/\/\S+\/oauth\/v2\/auth\?\S+)$/m);
    const response = await fetch(await emu.deny(authUrl!));
    assert.equal(response.status, 400);
    const run = await denied.done;
    assertExit(run, 1);
    assert.match(
      run.stderr,
      /^error: The user denied consent \(access_denied\): no token was issued \(OAUTH_ERROR\)\n$/,
    );

    const late = await cli([...at(db), 'login', '--web', '--port', '0', '--timeout', '1s', '--json']);
    assertExit(late, 1);
    assert.equal(late.stdout, '');
    assert.match(late.stderr, /Open this URL in a browser/);
    assert.match(late.stderr, /\nerror: no redirect arrived within 1s: run login again \(TIMEOUT\)\n$/);
  });

  it('refresh mints a new access token at the emulator (refresh counter +1)', async () => {
    const db = newDb();
    await login(db, 'alice@example.com');
    const [before] = await storedTokens(db);
    const count = emu.stats().refreshSuccesses;
    const run = await cli([...at(db), 'refresh', '1']);
    assertExit(run, 0);
    assert.match(run.stdout, /^Refreshed token 1 \(alice@example\.com\): the access token expires in 59m \d+s\.\n$/);
    assert.equal(emu.stats().refreshSuccesses, count + 1);
    const [after] = await storedTokens(db);
    assert.notEqual(after!.accessToken, before!.accessToken);
    assert.equal(after!.refreshToken, before!.refreshToken);

    const ifNeeded = await cli([...at(db), 'refresh', '--user', 'alice@example.com', '--if-needed', '--json']);
    assertExit(ifNeeded, 0);
    assert.equal((JSON.parse(ifNeeded.stdout) as { refreshed: boolean }).refreshed, false);
    assert.equal(emu.stats().refreshSuccesses, count + 1);
  });

  it('revoke revokes at Zoho and deletes the row; refresh then needs a login (exit 3)', async () => {
    const db = newDb();
    await login(db, 'alice@example.com');
    const [token] = await storedTokens(db);
    const count = emu.stats().revokeSuccesses;
    const run = await cli([...at(db), 'revoke', '1', '--yes']);
    assertExit(run, 0);
    assert.equal(run.stdout, 'Revoked token 1 (alice@example.com) at Zoho and deleted it from the store.\n');
    assert.equal(emu.stats().revokeSuccesses, count + 1);
    assert.equal(emu.tokenInfo(token!.refreshToken!), undefined);
    assert.deepEqual(await storedTokens(db), []);
    const refresh = await cli([...at(db), 'refresh', '1']);
    assertExit(refresh, 3);
    assert.equal(
      refresh.stderr,
      'error: no stored token for id "1": log in with "zoho-tokens login" (AUTH_REQUIRED)\n',
    );
  });

  it('refresh of a token whose refresh token Zoho revoked exits 3 and leaves it "login required"', async () => {
    const db = newDb();
    await login(db, 'alice@example.com');
    emu.revokeAll();
    const refresh = await cli([...at(db), 'refresh', '1']);
    assertExit(refresh, 3);
    assert.match(
      refresh.stderr,
      /^error: Zoho rejected the refresh token of token id 1 \(user alice@example\.com\): the user must log in again \(AUTH_REQUIRED\)\n$/,
    );
    const list = JSON.parse((await cli([...at(db), 'list', '--json'])).stdout) as { tokens: { status: string }[] };
    assert.equal(list.tokens[0]!.status, 'login required');
  });

  it('delete removes the row only (Zoho is not told)', async () => {
    const db = newDb();
    await login(db, 'alice@example.com');
    await login(db, 'bob@example.com');
    const [, bob] = await storedTokens(db);
    const revokes = emu.stats().revokeRequests;
    const run = await cli([...at(db), 'delete', '--user', 'bob@example.com', '--json', '--yes']);
    assertExit(run, 0);
    assert.deepEqual(JSON.parse(run.stdout), {
      id: '2',
      user: 'bob@example.com',
      clientId: CLIENT_ID,
      dryRun: false,
      deleted: true,
    });
    assert.equal(run.stderr, 'note: the refresh token of token 2 stays valid at Zoho until revoked\n');
    assert.deepEqual(
      (await storedTokens(db)).map((t) => t.userName),
      ['alice@example.com'],
    );
    assert.equal(emu.stats().revokeRequests, revokes);
    assert.ok(emu.tokenInfo(bob!.refreshToken!));
    assertExit(await cli([...at(db), 'delete', '2', '--yes']), 6);
  });

  it('purge --expired-for lists with --dry-run, then deletes only the stale tokens', async () => {
    const db = newDb();
    const now = Date.now();
    const store = new SqliteStore({ filename: db });
    const secret = (): string => `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`;
    const seed = (user: string, expiresAt: number | null, refresh = true): Promise<void> =>
      store.saveToken(
        new OAuthToken({
          userSignature: user,
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          // A dead token (Zoho rejected its refresh token) keeps only its used grant code.
          refreshToken: refresh ? secret() : null,
          grantToken: refresh ? null : secret(),
          accessToken: expiresAt === null ? null : secret(),
          expiresAt,
          accountsUrl: emu.url,
          apiDomain: emu.url,
        }),
      );
    await seed('old@example.com', now - 40 * DAY - 5 * HOUR);
    await seed('recent@example.com', now - 2 * HOUR);
    await seed('fresh@example.com', now + HOUR);
    await seed('dead@example.com', null, false);
    await store.close();
    await storedTokens(db);

    const dry = await cli([...at(db), 'purge', '--expired-for', '30d', '--dry-run']);
    assertExit(dry, 0);
    const lines = dry.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'Would delete 1 token expired more than 30d ago (dry run, nothing deleted):');
    assert.match(lines[2]!, /^1 +old@example\.com +.* +expired 40d 5h ago +expired$/);
    assert.equal(lines.length, 3);
    assert.equal((await storedTokens(db)).length, 4);

    const json = await cli([...at(db), 'purge', '--expired-for', '1h', '--dead', '--json', '--yes']);
    assertExit(json, 0);
    const out = JSON.parse(json.stdout) as {
      dryRun: boolean;
      expiredForMs: number;
      dead: boolean;
      deleted: number;
      tokens: { user: string }[];
    };
    assert.deepEqual(
      { ...out, tokens: out.tokens.map((t) => t.user) },
      {
        dryRun: false,
        expiredForMs: HOUR,
        dead: true,
        deleted: 3,
        tokens: ['old@example.com', 'recent@example.com', 'dead@example.com'],
      },
    );
    assert.deepEqual(
      (await storedTokens(db)).map((t) => t.userName),
      ['fresh@example.com'],
    );
  });

  it('purge pages through a store of 1,201 tokens (three pages) and deletes exactly the stale ones', async () => {
    const db = newDb();
    const now = Date.now();
    const store = new SqliteStore({ filename: db });
    await store.saveTokens(
      Array.from(
        { length: 1201 },
        (_, i) =>
          new OAuthToken({
            userSignature: `u${i}@example.com`,
            clientId: CLIENT_ID,
            clientSecret: CLIENT_SECRET,
            refreshToken: `1000.refresh-${i}.${randomBytes(8).toString('hex')}`,
            accessToken: `1000.access-${i}.${randomBytes(8).toString('hex')}`,
            // Every third token expired 40 days ago.
            expiresAt: i % 3 === 0 ? now - 40 * DAY : now + HOUR,
            accountsUrl: emu.url,
            apiDomain: emu.url,
          }),
      ),
    );
    await store.close();
    const run = await cli([...at(db), 'purge', '--expired-for', '30d', '--json', '--yes']);
    assertExit(run, 0);
    assert.equal((JSON.parse(run.stdout) as { deleted: number }).deleted, 401);
    const left = (await storedTokens(db)).map((t) => Number(/^u(\d+)@/.exec(t.userName ?? '')![1]));
    assert.equal(left.length, 800);
    assert.ok(left.every((i) => i % 3 !== 0));
  });

  it('migrate sqlite → sqlite copies every token, verifies, and a rerun changes nothing', async () => {
    const from = newDb();
    const to = newDb();
    await login(from, 'alice@example.com');
    await login(from, 'bob@example.com');
    await cli([...at(from), 'delete', '1', '--yes']);
    await login(from, 'carol@example.com');
    const source = await storedTokens(from);
    const run = await cli(['migrate', '--from', `sqlite:${from}`, '--to', `sqlite:${to}`]);
    assertExit(run, 0);
    assert.equal(
      run.stdout,
      `Read 2 tokens from sqlite:${from}.\nWrote 2 new, 0 updated, 0 unchanged to sqlite:${to}.\nVerified 2/2 tokens in the target.\n`,
    );
    const copied = await storedTokens(to);
    assert.deepEqual(
      copied.map((t) => t.toInit()),
      source.map((t) => t.toInit()),
    );
    assert.deepEqual(
      copied.map((t) => t.id),
      ['2', '3'],
    );

    const rerun = await cli(['--store', `sqlite:${from}`, 'migrate', '--to', `sqlite:${to}`, '--json']);
    assertExit(rerun, 0);
    assert.deepEqual(JSON.parse(rerun.stdout), {
      from: `sqlite:${from}`,
      to: `sqlite:${to}`,
      read: 2,
      created: 0,
      updated: 0,
      unchanged: 2,
      verified: 2,
    });
    assert.deepEqual(
      (await storedTokens(to)).map((t) => t.toInit()),
      source.map((t) => t.toInit()),
    );
  });

  it("migrate reads the official SDK's token file and its MySQL oauthtoken table", async () => {
    const rows = [1, 2].map((i) => ({
      id: String(i),
      user: `legacy${i}@example.com`,
      refresh: `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`,
      access: `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`,
      expiry: String(1_800_000_000_000 + i),
    }));
    for (const row of rows) {
      secrets.add(row.refresh);
      secrets.add(row.access);
    }
    const check = async (db: string): Promise<void> => {
      const tokens = await storedTokens(db);
      assert.deepEqual(
        tokens.map((t) => [
          t.userName,
          t.clientId,
          t.clientSecret,
          t.refreshToken,
          t.accessToken,
          t.expiresAt,
          t.apiDomain,
        ]),
        rows.map((r) => [
          r.user,
          CLIENT_ID,
          CLIENT_SECRET,
          r.refresh,
          r.access,
          Number(r.expiry),
          'https://www.zohoapis.com',
        ]),
      );
    };
    // The TypeScript SDK's FileStore format: its header, rows joined by \n, no quoting, no final newline.
    const file = join(dir, `sdk_tokens-${++dbCount}.txt`);
    const header =
      'id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain';
    const lines = rows.map((r) =>
      [r.id, r.user, CLIENT_ID, CLIENT_SECRET, r.refresh, r.access, '', r.expiry, '', 'https://www.zohoapis.com'].join(
        ',',
      ),
    );
    writeFileSync(file, [header, ...lines].join('\n'), { mode: 0o600 });
    const fromFile = newDb();
    const run = await cli(['migrate', '--from', `file:${file}`, '--to', `sqlite:${fromFile}`]);
    assertExit(run, 0);
    assert.match(
      run.stdout,
      /Read 2 tokens from file:.*\nWrote 2 new, 0 updated, 0 unchanged to sqlite:.*\nVerified 2\/2 tokens in the target\.\n$/,
    );
    await check(fromFile);

    if (mysqlSkip) return;
    const mysql = await import('mysql2/promise');
    const database = `zts_cli_${process.pid}`;
    const admin = await mysql.createConnection({ host: '127.0.0.1', user: 'root' });
    try {
      await admin.query(`CREATE DATABASE \`${database}\``);
      // The official DBStore's table, verbatim, with rows as it writes them.
      await admin.query(
        `CREATE TABLE \`${database}\`.oauthtoken (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), primary key (id))`,
      );
      for (const r of rows) {
        await admin.execute(`INSERT INTO \`${database}\`.oauthtoken VALUES (?, ?, ?, ?, ?, ?, NULL, ?, NULL, ?)`, [
          r.id,
          r.user,
          CLIENT_ID,
          CLIENT_SECRET,
          r.refresh,
          r.access,
          r.expiry,
          'https://www.zohoapis.com',
        ]);
      }
      const fromMysql = newDb();
      const url = `mysql://root@127.0.0.1:3306/${database}`;
      const viaMysql = await cli(['migrate', '--from', url, '--to', `sqlite:${fromMysql}`]);
      assertExit(viaMysql, 0);
      assert.match(viaMysql.stdout, /Verified 2\/2 tokens in the target\.\n$/);
      await check(fromMysql);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await admin.end();
    }
  });

  it("migrate refuses to overwrite another user's token and leaves both stores as they were", async () => {
    const from = newDb();
    const to = newDb();
    await login(from, 'alice@example.com');
    await login(to, 'mallory@example.com');
    const [before] = await storedTokens(to);
    const run = await cli(['migrate', '--from', `sqlite:${from}`, '--to', `sqlite:${to}`]);
    assertExit(run, 5);
    assert.equal(run.stdout, '');
    assert.equal(
      run.stderr,
      'error: target token 1 belongs to another user or client; nothing was written (MIGRATION_FAILED)\n',
    );
    assert.deepEqual(
      (await storedTokens(to)).map((t) => t.toInit()),
      [before!.toInit()],
    );
    assert.equal((await storedTokens(from))[0]!.userName, 'alice@example.com');
  });

  it('migrate sqlite → postgres, then a rerun that changes nothing', async (t) => {
    const skip = await skipUnlessReachable(POSTGRES);
    if (skip) return t.skip(skip);
    const pg = (await import('pg')).default;
    const database = `zts_cli_${process.pid}`;
    const admin = new pg.Client({ host: POSTGRES.host, port: POSTGRES.port, user: 'postgres', database: 'test' });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    t.after(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    });
    const url = `postgres://postgres@${POSTGRES.host}:${POSTGRES.port}/${database}`;
    const from = newDb();
    await login(from, 'alice@example.com');
    await login(from, 'bob@example.com');
    const first = await cli(['migrate', '--from', `sqlite:${from}`, '--to', url, '--json']);
    assertExit(first, 0);
    assert.deepEqual(JSON.parse(first.stdout), {
      from: `sqlite:${from}`,
      to: url,
      read: 2,
      created: 2,
      updated: 0,
      unchanged: 0,
      verified: 2,
    });
    const rerun = await cli(['migrate', '--from', `sqlite:${from}`, '--to', url, '--json']);
    assertExit(rerun, 0);
    assert.deepEqual(JSON.parse(rerun.stdout), {
      from: `sqlite:${from}`,
      to: url,
      read: 2,
      created: 0,
      updated: 0,
      unchanged: 2,
      verified: 2,
    });
    const list = JSON.parse((await cli(['--store', url, 'list', '--json'])).stdout) as {
      tokens: { id: string; user: string }[];
    };
    assert.deepEqual(
      list.tokens.map((x) => [x.id, x.user]),
      [
        ['1', 'alice@example.com'],
        ['2', 'bob@example.com'],
      ],
    );
  });

  it('rotate-key re-encrypts every token under the current key; a rerun re-encrypts nothing', async () => {
    const db = newDb();
    const k1 = randomBytes(32).toString('base64');
    const k2 = randomBytes(32).toString('base64');
    await login(db, 'alice@example.com', [], { ZOHO_TOKEN_STORE_KEYS: `k1:${k1}` });
    assert.match((await storedTokens(db))[0]!.refreshToken!, /^zts1:k1:/);
    const keys = { ZOHO_TOKEN_STORE_KEYS: `k2:${k2},k1:${k1}` };
    const run = await cli([...at(db), 'rotate-key', '--json'], keys);
    assertExit(run, 0);
    assert.deepEqual(JSON.parse(run.stdout), {
      currentKeyId: 'k2',
      scanned: 1,
      reencrypted: 1,
      alreadyCurrent: 0,
      values: 4,
      failed: [],
    });
    assert.match((await storedTokens(db))[0]!.refreshToken!, /^zts1:k2:/);
    const rerun = await cli([...at(db), 'rotate-key'], keys);
    assertExit(rerun, 0);
    assert.equal(rerun.stdout, 'Key k2: scanned 1, re-encrypted 0 (0 values), already current 1, failed 0.\n');
    const list = await cli([...at(db), 'list'], keys);
    assert.match(list.stdout, /\n1 +alice@example\.com .* valid\n$/);
    const blindShow = await cli([...at(db), 'show', '1']);
    assertExit(blindShow, 0);
    assert.match(blindShow.stdout, /\nrefresh token {2}encrypted \[redacted #[0-9a-f]{8}\]\n/);
    const without = await cli([...at(db), 'rotate-key']);
    assertExit(without, 2);
    assert.match(without.stderr, /^error: rotate-key needs the keys in ZOHO_TOKEN_STORE_KEYS .* \(USAGE\)\n$/);
    // Without the keys a ciphertext would reach Zoho as a refresh token (and the row be cleared): refused.
    const refreshes = emu.stats().refreshRequests;
    const blind = await cli([...at(db), 'refresh', '1']);
    assertExit(blind, 2);
    assert.equal(blind.stderr, 'error: token 1 is stored encrypted: set ZOHO_TOKEN_STORE_KEYS to use it (USAGE)\n');
    assert.equal(emu.stats().refreshRequests, refreshes);
    assert.match((await storedTokens(db))[0]!.refreshToken!, /^zts1:k2:/);
  });

  it('usage errors exit 2 with a helpful message', async () => {
    const db = newDb();
    const cases: [string[], RegExp][] = [
      [['list', '--bogus'], /^error: unknown option '--bogus' \(USAGE\)\n\(add --help for usage\)\n$/],
      [['migrate'], /^error: required option '--to <url>' not specified \(USAGE\)/],
      [['frobnicate'], /^error: unknown command 'frobnicate' \(USAGE\)/],
      [
        [...at(db), 'login', '--code', 'x', '--web'],
        /^error: use either --code \(Self Client\) or --web \(browser flow\), not both \(USAGE\)\n$/,
      ],
      [
        [...at(db), 'login'],
        /^error: no grant code: pass --code <grant> \(Self Client\) or --web \(browser flow\) \(USAGE\)\n$/,
      ],
      [
        ['--dc', 'XX', 'login', '--code', 'x'],
        /^error: invalid --dc "XX": Unknown data center "XX"; expected one of US, EU, IN, CN, AU, JP, CA, SA .*\(USAGE\)\n$/,
      ],
      [[...at(db), 'show'], /^error: name the token by <id> or by --user <email> \(one of them\) \(USAGE\)\n$/],
      [[...at(db), 'purge'], /^error: purge needs --expired-for <duration> and\/or --dead \(USAGE\)\n$/],
      [
        [...at(db), 'purge', '--expired-for', 'soon'],
        /^error: option '--expired-for <duration>' argument 'soon' is invalid\. Expected a duration such as 90s/,
      ],
      [
        [...at(db), 'login', '--web', '--port', 'x'],
        /^error: option '--port <port>' argument 'x' is invalid\. Expected a port number/,
      ],
    ];
    for (const [args, stderr] of cases) {
      const run = await cli(args);
      assertExit(run, 2);
      assert.match(run.stderr, stderr, args.join(' '));
      assert.equal(run.stdout, '', args.join(' '));
    }
    const noCommand = await cli([]);
    assertExit(noCommand, 2);
    assert.match(noCommand.stderr, /^Usage: zoho-tokens/);
    const noClient = await cli([...at(db), 'login', '--code', 'x'], { ZOHO_CLIENT_ID: '' });
    assertExit(noClient, 2);
    assert.equal(noClient.stderr, 'error: no client id: pass --client-id or set ZOHO_CLIENT_ID (USAGE)\n');
  });

  it('an unknown store URL exits with the store error code, a used grant code with auth-required', async () => {
    const run = await cli(['--store', 'mongodb://user:hunter2@db/x', 'list']);
    assertExit(run, 5);
    assert.match(run.stderr, /^error: Unknown store URL scheme "mongodb:"; known: .* \(INVALID_STORE_URL\)\n$/);
    assert.ok(!run.stderr.includes('hunter2'));
    const verbose = await cli(['--store', 'mongodb://x', 'list', '--verbose']);
    assertExit(verbose, 5);
    assert.match(verbose.stderr, /\n {4}at /);

    const db = newDb();
    const code = await emu.createGrantCode({ clientId: CLIENT_ID, user: 'erin@example.com', scopes: SCOPES });
    secrets.add(code);
    assertExit(await cli([...at(db), 'login', '--code', code, '--user', 'erin@example.com']), 0);
    const other = newDb();
    const reused = await cli([...at(other), 'login', '--code', code, '--user', 'erin@example.com']);
    assertExit(reused, 3);
    assert.match(reused.stderr, /\(INVALID_GRANT\)\n$/);
  });

  it('a stored non-Zoho accounts URL is used only when the operator names it (--dc custom:); else UNTRUSTED_ENDPOINT, exit 5, nothing sent', async () => {
    let received = 0;
    const evil = createHttpServer((req, res) => {
      received++;
      res.end('{}');
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    after(() => evil.close());
    const evilUrl = `http://127.0.0.1:${(evil.address() as { port: number }).port}`;
    const db = newDb();
    await login(db, 'mallory-target@example.com');
    const [token] = await storedTokens(db);
    const raw = openRawDefault(db);
    raw.run('UPDATE oauthtoken SET accounts_url = ?, api_domain = ? WHERE id = ?', evilUrl, evilUrl, token!.id);
    raw.close();
    for (const command of ['refresh', 'revoke']) {
      const run = await cli([...at(db), command, token!.id!, ...(command === 'revoke' ? ['--yes'] : [])]);
      assertExit(run, 5);
      assert.match(
        run.stderr,
        new RegExp(`^error: Not sending .* to ${evilUrl.replace(/\./g, '\\.')}: .*\\(UNTRUSTED_ENDPOINT\\)\n$`),
        command,
      );
    }
    assert.equal(received, 0, "the forged row's server got nothing");
    assert.equal((await storedTokens(db))[0]?.refreshToken, token!.refreshToken, 'the row stays');
    // The emulator's own URL stored in a row is not trusted either unless --dc names it.
    const back = openRawDefault(db);
    back.run('UPDATE oauthtoken SET accounts_url = ?, api_domain = ? WHERE id = ?', emu.url, emu.url, token!.id);
    back.close();
    assertExit(await cli(['--store', `sqlite:${db}`, '--dc', 'EU', 'refresh', token!.id!]), 5);
    assertExit(await cli([...at(db), 'refresh', token!.id!]), 0);
  });

  it('bind: an unbound row rejected at the configured DC keeps its refresh token (TOKEN_UNBOUND, exit 3) until bound', async () => {
    const db = newDb();
    await login(db, 'sdk-row@example.com');
    const [token] = await storedTokens(db);
    // As the official SDKs write it: no accounts_url, no api_domain; a refresh token this DC does not know.
    const unknown = `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`;
    secrets.add(unknown);
    const raw = openRawDefault(db);
    raw.run(
      'UPDATE oauthtoken SET accounts_url = NULL, api_domain = NULL, refresh_token = ?, expiry_time = 1000 WHERE id = ?',
      unknown,
      token!.id,
    );
    raw.close();
    const refused = await cli([...at(db), 'refresh', token!.id!]);
    assertExit(refused, 3);
    assert.match(
      refused.stderr,
      /rejected the refresh token of token id \d+ .*no data center binding.*zoho-tokens bind \d+ --dc .*\(TOKEN_UNBOUND\)\n$/,
    );
    assert.equal((await storedTokens(db))[0]?.refreshToken, unknown, 'kept');

    const noDc = await cli(['--store', `sqlite:${db}`, 'bind', token!.id!]);
    assertExit(noDc, 2);
    assert.match(noDc.stderr, /bind needs --dc/);
    const bound = await cli([...at(db), 'bind', token!.id!, '--json']);
    assertExit(bound, 0);
    assert.deepEqual(JSON.parse(bound.stdout), {
      id: token!.id,
      user: 'sdk-row@example.com',
      clientId: CLIENT_ID,
      environment: 'custom',
      accountsUrl: emu.url,
      apiDomain: emu.url,
    });
    const moved = await cli(['--store', `sqlite:${db}`, '--dc', 'EU', 'bind', token!.id!]);
    assertExit(moved, 2);
    assert.match(moved.stderr, /already bound to/);
    // Bound, the same rejection is final: exit 3, refresh token cleared.
    const dead = await cli([...at(db), 'refresh', token!.id!]);
    assertExit(dead, 3);
    assert.match(dead.stderr, /\(AUTH_REQUIRED\)\n$/);
    assert.equal((await storedTokens(db))[0]?.refreshToken ?? null, null);
  });

  it('read-only commands against a missing sqlite: or file: store say so (exit 5) and create nothing', async () => {
    for (const url of [`sqlite:${join(dir, 'mistyped.db')}`, `file:${join(dir, 'mistyped_tokens.txt')}`]) {
      for (const args of [
        ['list'],
        ['show', '1'],
        ['list', '--json'],
        ['delete', '1', '--yes'],
        ['purge', '--dead', '--yes'],
        ['refresh', '1'],
        ['bind', '1', '--dc', 'EU'],
        ['migrate', '--to', 'memory:'],
      ]) {
        const argv = args[0] === 'migrate' ? [...args, '--from', url] : ['--store', url, ...args];
        const run = await cli(argv);
        assertExit(run, 5);
        assert.match(
          run.stderr,
          /^error: the token store .* does not exist\b.* \(STORE_NOT_FOUND\)\n$/,
          argv.join(' '),
        );
        assert.equal(run.stdout, '', argv.join(' '));
      }
    }
    for (const name of ['mistyped.db', 'mistyped.db-wal', 'mistyped.db-shm', 'mistyped_tokens.txt'])
      assert.ok(!existsSync(join(dir, name)), name);
  });

  it('a bad query value of a server store URL is a store URL error (exit 5)', { skip: mysqlSkip }, async () => {
    const run = await cli(['--store', 'mysql://root:hunter2@127.0.0.1:3306/test?ssl=notjson', 'list']);
    assertExit(run, 5);
    assert.match(run.stderr, /^error: .*SSL profile.* \(INVALID_STORE_URL\)\n$/);
    assert.ok(!run.stderr.includes('hunter2'));
  });

  it('emulator runs the local Zoho emulator until SIGTERM', async () => {
    const run = new CliProcess([
      'emulator',
      '--port',
      '0',
      '--client-id',
      '1000.EMUCLI',
      '--client-secret',
      'emu-cli-secret-123',
    ]);
    const [, url] = await run.waitFor(/Zoho emulator listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const response = await fetch(`${url}/crm/v8/org`);
    assert.equal(response.status, 401);
    await response.body?.cancel();
    run.child.kill('SIGTERM');
    const done = await run.done;
    assertExit(done, 0);
    assert.match(done.stdout, /client_secret: {2}\(as given\)/);
    assert.match(done.stdout, /Zoho emulator stopped\.\n$/);
  });

  it('never prints a secret without --show-secrets', () => {
    assert.ok(shown.length > 50, `only ${shown.length} outputs captured`);
    assert.ok(secrets.size > 20, `only ${secrets.size} secrets collected`);
    for (const secret of secrets) {
      for (const text of shown)
        assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 9)}…) was printed:\n${text}`);
    }
  });
});
