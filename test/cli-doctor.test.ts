// `zoho-tokens doctor` as an operator runs it: the BUILT bin in a child process, against an
// in-process emulator (the accounts server whose Date header the clock check reads) and stores in a
// temp dir. Every check's status and counts are asserted by value.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EncryptedStore, OAuthToken, SqliteStore, type TokenStore } from 'zoho-token-store';
import { startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { BIN, ensureBuilt } from './helpers/built-bin.js';
import { deleteKeysUnder } from './helpers/redis-keys.js';
import { MARIADB, POSTGRES, REDIS, skipUnlessReachable } from './helpers/services.js';
import { openRawDefault } from './helpers/sqlite-drivers.js';
import { tempDir } from './helpers/temp.js';

const HOUR = 3_600_000;
const K1 = `k1:${randomBytes(32).toString('base64')}`;
const K2 = `k2:${randomBytes(32).toString('base64')}`;
const dir = tempDir('cli-doctor');
const postgresSkip = await skipUnlessReachable(POSTGRES);
const mysqlSkip = await skipUnlessReachable(MARIADB);
const redisSkip = await skipUnlessReachable(REDIS);
let emu: ZohoEmulator;
let count = 0;

interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  detail: string;
  hint: string | null;
}
interface Report {
  ok: boolean;
  summary: Record<string, number>;
  tokens: Record<string, number> | null;
  checks: Check[];
}

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith('ZOHO_')) base[key] = value;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, env: { ...base, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

const dc = (): string[] => ['--dc', `custom:${emu.url},${emu.url}`];

async function doctor(
  store: string,
  env: Record<string, string> = {},
  extra: string[] = [],
): Promise<{ code: number; report: Report; stdout: string }> {
  const result = await run(['doctor', '--store', store, ...dc(), '--json', ...extra], env);
  assert.equal(result.stderr, '', result.stderr);
  return { code: result.code, report: JSON.parse(result.stdout) as Report, stdout: result.stdout };
}

const checkOf = (report: Report, name: string): Check => {
  const found = report.checks.find((c) => c.name === name);
  assert.ok(found, `no check ${name}`);
  return found;
};

/** A token the emulator's accounts server would refresh: bound to it, valid for an hour. */
function token(user: string, extra: Partial<ConstructorParameters<typeof OAuthToken>[0]> = {}): OAuthToken {
  return new OAuthToken({
    userSignature: user,
    clientId: '1000.DOCTORCLIENT',
    clientSecret: `secret-${randomBytes(8).toString('hex')}`,
    refreshToken: `1000.${randomBytes(16).toString('hex')}`,
    accessToken: `1000.${randomBytes(16).toString('hex')}`,
    expiresAt: Date.now() + HOUR,
    accountsUrl: emu.url,
    apiDomain: emu.url,
    ...extra,
  });
}

/** A new SQLite file (0600, as the store makes it) holding `tokens`, encrypted under `keys` when given. */
async function sqliteWith(tokens: OAuthToken[], keys?: string): Promise<string> {
  const filename = join(dir, `doctor-${++count}.db`);
  const inner = new SqliteStore({ filename });
  const store: TokenStore = keys ? new EncryptedStore(inner, { keys }) : inner;
  for (const t of tokens) await store.saveToken(t);
  await store.close();
  return filename;
}

/** The emulator's clock stands still unless moved: keep it at real time (plus `skewMs`) while the bin runs. */
function followRealTime(skewMs: number): () => void {
  const tick = (): void => emu.clock.set(Date.now() + skewMs);
  tick();
  const timer = setInterval(tick, 10);
  return () => clearInterval(timer);
}

before(async () => {
  ensureBuilt();
  emu = await startZohoEmulator({ clients: [] });
});
after(() => emu?.close());

describe('zoho-tokens doctor', () => {
  it('a healthy encrypted SQLite store: every check ok, exit 0, counts in --json', async () => {
    const db = await sqliteWith([token('alice@example.com'), token('bob@example.com')], K1);
    const stop = followRealTime(0);
    const { code, report } = await doctor(`sqlite:${db}`, { ZOHO_TOKEN_STORE_KEYS: K1 }).finally(stop);
    assert.equal(code, 0);
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.status]),
      [
        ['store', 'ok'],
        ['schema', 'ok'],
        ['file-modes', 'ok'],
        ['encryption', 'ok'],
        ['endpoints', 'ok'],
        ['clock', 'ok'],
        ['tokens', 'ok'],
        ['locks', 'ok'],
      ],
    );
    assert.equal(report.ok, true);
    assert.deepEqual(report.summary, { ok: 8, warn: 0, fail: 0, skip: 0 });
    assert.deepEqual(report.tokens, { total: 2, valid: 2, expiring: 0, expired: 0, dead: 0 });
    assert.match(
      checkOf(report, 'encryption').detail,
      /current key k1; 2 tokens: 0 on an older key, 0 with plaintext values, 0 undecryptable/,
    );
    // The emulator's clock follows this host's in 10 ms steps.
    const clock = new RegExp(`^${emu.url.replace(/\/$/, '')}: offset (-?\\d+) ms; refresh margin 300000 ms$`).exec(
      checkOf(report, 'clock').detail,
    );
    assert.ok(clock && Math.abs(Number(clock[1])) <= 50, checkOf(report, 'clock').detail);
    assert.match(checkOf(report, 'file-modes').detail, /doctor-\d+\.db 0600/);
  });

  it('human output: one line per check, hints for the others, never a secret', async () => {
    const t = token('carol@example.com');
    const db = await sqliteWith([t]);
    const stop = followRealTime(0);
    const result = await run(['doctor', '--store', `sqlite:${db}`, ...dc()]).finally(stop);
    assert.equal(result.code, 0);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^OK {4}store {7}sqlite:.*doctor-\d+\.db reachable, 1 token$/);
    assert.match(result.stdout, /^WARN {2}encryption {2}not configured: 1 token stored in plaintext$/m);
    assert.match(result.stdout, /^ {18}hint: set ZOHO_TOKEN_STORE_KEYS/m);
    assert.equal(lines.at(-1), '7 ok, 1 warn, 0 fail, 0 skipped.');
    for (const secret of [t.refreshToken!, t.accessToken!, t.clientSecret!]) assert.ok(!result.stdout.includes(secret));
  });

  it('a row naming an untrusted accounts server fails, naming the token id but not the URL beyond its origin; exit 1', async () => {
    const db = await sqliteWith([
      token('alice@example.com'),
      token('mallory@example.com', { accountsUrl: 'https://evil.example/steal?key=s3cr3tpath', apiDomain: null }),
    ]);
    const { code, report, stdout } = await doctor(`sqlite:${db}`, {}, ['--no-clock']);
    assert.equal(code, 1);
    assert.equal(report.ok, false);
    const endpoints = checkOf(report, 'endpoints');
    assert.equal(endpoints.status, 'fail');
    assert.equal(endpoints.detail, '1 token names a server the trust rules refuse: token 2 (https://evil.example)');
    assert.ok(!stdout.includes('s3cr3tpath'));
    assert.equal(checkOf(report, 'clock').status, 'skip');
  });

  it('an unbound row (official SDK format) warns with the bind hint', async () => {
    const db = await sqliteWith([token('dave@example.com', { accountsUrl: null, apiDomain: null })]);
    const { code, report } = await doctor(`sqlite:${db}`, {}, ['--no-clock']);
    assert.equal(code, 0);
    const endpoints = checkOf(report, 'endpoints');
    assert.equal(endpoints.status, 'warn');
    assert.match(endpoints.detail, /^1 token bound to no data center \(1\)/);
    assert.equal(endpoints.hint, 'zoho-tokens bind <id> --dc <dc>');
  });

  it('encryption: a row on an old key warns with count 1; without the old key it fails as undecryptable', async () => {
    const db = await sqliteWith([token('erin@example.com')], K1);
    const store = new EncryptedStore(new SqliteStore({ filename: db }), { keys: `${K2},${K1}` });
    await store.saveToken(token('frank@example.com'));
    await store.close();
    const rotated = await doctor(`sqlite:${db}`, { ZOHO_TOKEN_STORE_KEYS: `${K2},${K1}` }, ['--no-clock']);
    assert.equal(rotated.code, 0);
    const encryption = checkOf(rotated.report, 'encryption');
    assert.equal(encryption.status, 'warn');
    assert.equal(
      encryption.detail,
      'current key k2; 2 tokens: 1 on an older key, 0 with plaintext values, 0 undecryptable (1)',
    );
    assert.match(encryption.hint!, /rotate-key/);

    const missingKey = await doctor(`sqlite:${db}`, { ZOHO_TOKEN_STORE_KEYS: K2 }, ['--no-clock']);
    assert.equal(missingKey.code, 1);
    assert.equal(checkOf(missingKey.report, 'encryption').status, 'fail');
    assert.match(checkOf(missingKey.report, 'encryption').detail, /1 undecryptable \(1\)$/);

    const noKeys = await doctor(`sqlite:${db}`, {}, ['--no-clock']);
    assert.equal(noKeys.code, 1);
    assert.equal(
      checkOf(noKeys.report, 'encryption').detail,
      '2 tokens stored encrypted (1, 2) but ZOHO_TOKEN_STORE_KEYS is not set',
    );
  });

  it('a world-readable SQLite file fails (doctor changes nothing); a token file warns (its store made it 0600)', async () => {
    const db = await sqliteWith([token('gina@example.com')]);
    chmodSync(db, 0o644);
    const { code, report } = await doctor(`sqlite:${db}`, {}, ['--no-clock']);
    assert.equal(code, 1);
    const modes = checkOf(report, 'file-modes');
    assert.equal(modes.status, 'fail');
    assert.match(modes.detail, /^readable by others: .*doctor-\d+\.db \(0644\)$/);
    assert.equal(modes.hint, 'run chmod 600 on these files as their owner');
    assert.equal(statSync(db).mode & 0o777, 0o644);

    const file = join(dir, `tokens-${++count}.txt`);
    const fileStore = new (await import('zoho-token-store/file')).FileStore({ filename: file });
    await fileStore.saveToken(token('hank@example.com'));
    await fileStore.close();
    chmodSync(file, 0o644);
    const fromFile = await doctor(`file:${file}`, {}, ['--no-clock']);
    assert.equal(checkOf(fromFile.report, 'file-modes').status, 'warn');
    assert.match(checkOf(fromFile.report, 'file-modes').detail, /tokens-\d+\.txt \(was 0644, now 0600\)/);
    assert.equal(checkOf(fromFile.report, 'schema').status, 'skip');
    assert.equal(checkOf(fromFile.report, 'locks').status, 'skip');
  });

  it('a lock row past its lease warns; an expired forced-refresh marker does not', async () => {
    const db = await sqliteWith([token('ivan@example.com')]);
    const raw = openRawDefault(db);
    try {
      const insert = 'INSERT INTO oauthtoken_lock (name, owner, expires_at) VALUES (?, ?, ?)';
      raw.run(insert, 'refresh:1', 'dead-worker', Date.now() - 2 * HOUR);
      raw.run(insert, 'forced:1:abc', 'w', Date.now() - HOUR);
      raw.run(insert, 'refresh:9', 'live', Date.now() + HOUR);
    } finally {
      raw.close();
    }
    const { code, report } = await doctor(`sqlite:${db}`, {}, ['--no-clock']);
    assert.equal(code, 0);
    const locks = checkOf(report, 'locks');
    assert.equal(locks.status, 'warn');
    assert.match(
      locks.detail,
      /^3 lock rows, 1 past its lease \(and 1 expired forced-refresh markers, left to expire by design\): refresh:1 \(expired 2h/,
    );
  });

  it('counts expired, near-refresh and dead tokens; dead ones warn', async () => {
    const db = await sqliteWith([
      token('a@example.com'),
      token('b@example.com', { expiresAt: Date.now() + 60_000 }),
      token('c@example.com', { expiresAt: Date.now() - HOUR }),
      token('d@example.com', { refreshToken: null, expiresAt: Date.now() - 2 * HOUR }),
      token('e@example.com', { refreshToken: null, expiresAt: Date.now() - HOUR }),
    ]);
    const { code, report } = await doctor(`sqlite:${db}`, {}, ['--no-clock']);
    assert.equal(code, 0);
    assert.deepEqual(report.tokens, { total: 5, valid: 1, expiring: 1, expired: 1, dead: 2 });
    assert.equal(checkOf(report, 'tokens').status, 'warn');
    assert.match(checkOf(report, 'tokens').hint!, /purge --dead/);
  });

  it("the clock: the accounts server's Date header 10 minutes ahead fails against the 5-minute margin", async () => {
    const db = await sqliteWith([token('jo@example.com')]);
    const stop = followRealTime(10 * 60_000);
    try {
      const { code, report } = await doctor(`sqlite:${db}`);
      assert.equal(code, 1);
      const clock = checkOf(report, 'clock');
      assert.equal(clock.status, 'fail');
      const offset = Number(/offset (-?\d+) ms/.exec(clock.detail)?.[1]);
      // A Date header has whole seconds (up to 1 s short), and the emulator's clock follows real
      // time every 10 ms (later under load): 10 minutes within 2 s.
      assert.ok(Math.abs(offset - 600_000) <= 2000, clock.detail);
    } finally {
      stop();
    }
  });

  it('a row that cannot be read fails the store check by its id; the checks that need the rows are skipped', async () => {
    const db = await sqliteWith([token('kim@example.com')]);
    const raw = openRawDefault(db);
    try {
      // A refresh token without the client it belongs to: no OAuthToken can be made of it.
      raw.run("INSERT INTO oauthtoken (id, user_name, refresh_token) VALUES ('7', 'x@example.com', '1000.r')");
    } finally {
      raw.close();
    }
    const { code, report } = await doctor(`sqlite:${db}`);
    assert.equal(code, 1);
    assert.match(
      checkOf(report, 'store').detail,
      /reachable, but a row cannot be read: Stored token "7" is not a valid token$/,
    );
    assert.deepEqual(
      report.checks.filter((c) => c.status === 'skip').map((c) => c.name),
      ['encryption', 'endpoints', 'clock', 'tokens'],
    );
    assert.equal(report.tokens, null);
    assert.equal(checkOf(report, 'schema').status, 'ok');
  });

  it('--help names the checks and --no-clock', async () => {
    const help = await run(['doctor', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: zoho-tokens doctor \[options\]/);
    assert.match(help.stdout, /--no-clock/);
    assert.match(help.stdout, /Examples:/);
  });

  it('a missing store: exit 5, and nothing is created', async () => {
    const before = readdirSync(dir).length;
    const missing = join(dir, 'nope', 'missing.db');
    const result = await run(['doctor', '--store', `sqlite:${missing}`, '--no-clock']);
    assert.equal(result.code, 5);
    assert.match(result.stderr, /does not exist .*\(STORE_NOT_FOUND\)/);
    assert.equal(result.stdout, '');
    assert.equal(existsSync(missing), false);
    const file = await run(['doctor', '--store', `file:${join(dir, 'missing.txt')}`, '--no-clock']);
    assert.equal(file.code, 5);
    assert.equal(readdirSync(dir).length, before);
  });

  it('PostgreSQL: reachable, schema ok, a stale lock row warns', { skip: postgresSkip }, async () => {
    const table = `doctor_${process.pid}_${randomBytes(3).toString('hex')}`;
    const url = `postgres://postgres@127.0.0.1:5432/test?table=${table}`;
    const { PostgresStore } = await import('zoho-token-store/postgres');
    const store = new PostgresStore({ url: 'postgres://postgres@127.0.0.1:5432/test', table });
    try {
      await store.saveToken(token('pg@example.com'));
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
      await client.connect();
      try {
        await client.query(
          `INSERT INTO "${table}_lock" (name, owner, expires_at) VALUES ('refresh:1', 'gone', clock_timestamp() - interval '1 hour')`,
        );
      } finally {
        await client.end();
      }
      const { code, report } = await doctor(url, {}, ['--no-clock']);
      assert.equal(code, 0);
      assert.equal(checkOf(report, 'store').status, 'ok');
      assert.equal(checkOf(report, 'schema').status, 'ok');
      assert.match(checkOf(report, 'schema').detail, new RegExp(`^PostgreSQL: table ${table} \\(11 columns`));
      assert.equal(checkOf(report, 'file-modes').status, 'skip');
      assert.equal(checkOf(report, 'locks').status, 'warn');
      assert.match(checkOf(report, 'locks').detail, /^1 lock row, 1 past its lease: refresh:1 \(expired 1h/);
    } finally {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
      await client.connect();
      for (const suffix of ['', '_meta', '_lock']) await client.query(`DROP TABLE IF EXISTS "${table}${suffix}"`);
      await client.end();
      await store.close();
    }
  });

  it(
    'MariaDB: reachable, schema ok (its invisible columns aside), a stale lock row warns',
    { skip: mysqlSkip },
    async () => {
      const table = `doctor_${process.pid}_${randomBytes(3).toString('hex')}`;
      const server = 'mysql://root@127.0.0.1:3306/test';
      const { MySqlStore } = await import('zoho-token-store/mysql');
      const store = new MySqlStore({ url: server, table });
      const mysql = await import('mysql2/promise');
      const db = await mysql.createConnection({ uri: server });
      try {
        await store.saveToken(token('maria@example.com'));
        await db.query(
          `INSERT INTO \`${table}_lock\` (name, owner, expires_at) VALUES ('refresh:1', 'gone', ` +
            `(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000) - 3600000)`,
        );
        const { code, report } = await doctor(`${server}?table=${table}`, {}, ['--no-clock']);
        assert.equal(code, 0);
        assert.equal(checkOf(report, 'store').detail, `${server}?*** reachable, 1 token`);
        assert.equal(checkOf(report, 'schema').status, 'ok');
        assert.match(checkOf(report, 'schema').detail, new RegExp(`^MySQL: table ${table} \\(11 columns`));
        assert.equal(checkOf(report, 'locks').status, 'warn');
        assert.match(checkOf(report, 'locks').detail, /^1 lock row, 1 past its lease: refresh:1 \(expired 1h/);
      } finally {
        for (const suffix of ['', '_meta', '_lock']) await db.query(`DROP TABLE IF EXISTS \`${table}${suffix}\``);
        await db.end();
        await store.close();
      }
    },
  );

  it(
    'Redis: reachable, tokens checked, a lock key without an expiry warns; no schema (skip)',
    { skip: redisSkip },
    async () => {
      const prefix = `zts-doctor-${process.pid}-${randomBytes(3).toString('hex')}:`;
      const { RedisStore } = await import('zoho-token-store/redis');
      const store = new RedisStore({ url: 'redis://127.0.0.1:6379/0', prefix });
      try {
        await store.saveToken(token('red@example.com'));
        // Redis expires a lease itself: only a lock key without an expiry can be stale.
        await store.client.call('SET', [`${prefix}lock:refresh:1`, 'gone']);
        await store.client.call('SET', [`${prefix}lock:refresh:2`, 'live', 'PX', 60_000]);
        const { code, report } = await doctor(`redis://127.0.0.1:6379/0?prefix=${encodeURIComponent(prefix)}`, {}, [
          '--no-clock',
        ]);
        assert.equal(code, 0);
        assert.deepEqual(
          report.checks.map((c) => [c.name, c.status]),
          [
            ['store', 'ok'],
            ['schema', 'skip'],
            ['file-modes', 'skip'],
            ['encryption', 'warn'],
            ['endpoints', 'ok'],
            ['clock', 'skip'],
            ['tokens', 'ok'],
            ['locks', 'warn'],
          ],
        );
        assert.deepEqual(report.tokens, { total: 1, valid: 1, expiring: 0, expired: 0, dead: 0 });
        assert.equal(
          checkOf(report, 'locks').detail,
          '2 lock rows, 1 past its lease: refresh:1 (no lease: held until deleted)',
        );
      } finally {
        await store.close();
        await deleteKeysUnder('redis://127.0.0.1:6379/0', prefix);
      }
    },
  );
});
