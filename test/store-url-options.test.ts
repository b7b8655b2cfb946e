import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCode, OAuthToken, ZohoTokenError, openStore, type OpenStoreOptions } from 'zoho-token-store';
import { PostgresStore } from 'zoho-token-store/postgres';
import { RedisStore } from 'zoho-token-store/redis';
import { MARIADB, POSTGRES, REDIS, skipUnlessReachable } from './helpers/services.js';
import { openRawDefault } from './helpers/sqlite-drivers.js';
import { tempDir } from './helpers/temp.js';

const dir = tempDir('store-url-options');
const tag = `u${process.pid}`;

function token(n: number): OAuthToken {
  return new OAuthToken({
    clientId: '1000.URL',
    clientSecret: 's',
    userSignature: `${tag}-${n}@example.com`,
    refreshToken: `1000.r.${tag}.${n}`,
    accessToken: `1000.a.${tag}.${n}`,
    expiresAt: Date.now() + 3_600_000,
  });
}

/** Opens, saves one token and closes: the store options must have taken effect by then. */
async function saveOne(url: string, options?: OpenStoreOptions): Promise<string> {
  const store = await openStore(url, options);
  try {
    const saved = token(1);
    await store.saveToken(saved);
    return saved.id!;
  } finally {
    await store.close();
  }
}

/** Asserts that `promise` fails with `code` and a message matching `pattern`, never echoing the password. */
async function refused(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ZohoTokenError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    assert.ok(!`${error.message} ${String(error.cause)}`.includes('hunter2'), error.message);
    return true;
  });
}

describe('store options in URLs: sqlite: and file:', () => {
  it('sqlite:path?table=x opens the table x in the file path (not a file named "path?table=x")', async () => {
    const file = join(dir, 'tables.db');
    const id = await saveOne(`sqlite:${file}?table=url_tokens&synchronous=FULL`);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('tables.db')),
      ['tables.db'],
    );
    const raw = openRawDefault(file);
    try {
      assert.deepEqual(
        raw.all(`SELECT id, user_name FROM url_tokens`).map((r) => ({ ...r })),
        [{ id, user_name: `${tag}-1@example.com` }],
      );
      assert.deepEqual(raw.all(`SELECT name FROM sqlite_master WHERE name = 'oauthtoken'`), []);
    } finally {
      raw.close();
    }
  });

  it('the same options given to openStore as properties act alike; given both ways they are refused', async () => {
    const file = join(dir, 'props.db');
    const id = await saveOne(`sqlite:${file}`, { table: 'prop_tokens' });
    const raw = openRawDefault(file);
    try {
      assert.deepEqual(
        raw.all(`SELECT id FROM prop_tokens`).map((r) => ({ ...r })),
        [{ id }],
      );
    } finally {
      raw.close();
    }
    await refused(
      openStore(`sqlite:${file}?table=a`, { table: 'b' }),
      ErrorCode.INVALID_ARGUMENT,
      /table is given both in the URL and in options/,
    );
    await refused(
      openStore(`sqlite:${file}`, { prefix: 'p:' }),
      ErrorCode.INVALID_ARGUMENT,
      /options\.prefix does not apply to sqlite: stores \(they take: table, driver, busyTimeoutMs, synchronous\)/,
    );
    await refused(
      openStore(`sqlite:${file}`, { busyTimeoutMs: '5' as never }),
      ErrorCode.INVALID_ARGUMENT,
      /options\.busyTimeoutMs must be a number/,
    );
  });

  it('an unknown, repeated, misplaced or malformed parameter is INVALID_STORE_URL, and nothing is created', async () => {
    const cases: [string, RegExp][] = [
      [`sqlite:${dir}/a.db?tabel=x`, /unknown sqlite: URL parameter \?tabel=/],
      [`sqlite:${dir}/b.db?table=x&table=y`, /\?table= is given more than once/],
      [`sqlite:${dir}/c.db?prefix=p:`, /\?prefix= does not apply to sqlite: stores/],
      [`sqlite:${dir}/d.db?busyTimeoutMs=soon`, /\?busyTimeoutMs= must be a non-negative integer/],
      [`sqlite:${dir}/e.db?synchronous=OFF`, /\?synchronous= must be one of NORMAL, FULL, EXTRA/],
      [`sqlite:${dir}/f.db?table=`, /\?table= must not be empty/],
      [`sqlite:${dir}/g.db?table=a%20b`, /\?table=: /],
      [`file:${dir}/h.txt?format=java`, /\?format= must be one of typescript, python/],
      [`file:${dir}/i.txt?fsync=yes`, /\?fsync= must be true or false/],
      ['memory:?table=x', /\?table= does not apply to memory: stores \(they take: none\)/],
    ];
    for (const [url, pattern] of cases) await refused(openStore(url), ErrorCode.INVALID_STORE_URL, pattern);
    assert.deepEqual(
      readdirSync(dir).filter((f) => /^[a-i]\./.test(f)),
      [],
    );
  });

  it('a ? in a file name is written %3F', async () => {
    await saveOne(`sqlite:${dir}/odd%3Fname.db`);
    assert.ok(existsSync(join(dir, 'odd?name.db')));
  });

  it('file:path?format=python writes the Python SDK layout', async () => {
    const file = join(dir, 'tokens.csv');
    await saveOne(`file:${file}?format=python&fsync=false`);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^id,user_name,client_id,/, 'the Python SDK header');
    assert.ok(text.endsWith('\r\n'), 'CRLF line ends, as the Python SDK writes');
  });
});

describe('store options in URLs: postgres://, mysql://, redis://', () => {
  it('postgres://…?schema=s&table=t saves into s.t; an unknown or misplaced parameter is refused without echoing the password', async (t) => {
    const skip = await skipUnlessReachable(POSTGRES);
    if (skip) return t.skip(skip);
    const pg = await import('pg');
    const schema = `zts_url_${process.pid}`;
    const admin = new pg.default.Client({ host: '127.0.0.1', user: 'postgres', database: 'test' });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    t.after(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    });
    const id = await saveOne(
      `postgres://postgres@127.0.0.1:5432/test?application_name=zts&schema=${schema}&table=url_tokens`,
    );
    const { rows } = await admin.query(`SELECT id, user_name FROM ${schema}.url_tokens`);
    assert.deepEqual(rows, [{ id, user_name: `${tag}-1@example.com` }]);
    const base = 'postgres://postgres:hunter2@127.0.0.1:5432/test';
    await refused(openStore(`${base}?tabel=x`), ErrorCode.INVALID_STORE_URL, /unknown pg option \?tabel=/);
    await refused(
      openStore(`${base}?prefix=x`),
      ErrorCode.INVALID_STORE_URL,
      /\?prefix= does not apply to postgres: stores/,
    );
    await refused(
      openStore(`${base}?poolSize=0`),
      ErrorCode.INVALID_STORE_URL,
      /^\?poolSize=: PostgresStore: poolSize/,
    );
    // The store's own url takes only pg's parameters: a store option there points to the option.
    assert.throws(
      () => new PostgresStore({ url: `${base}?table=x` }),
      (error: unknown) =>
        error instanceof ZohoTokenError &&
        error.code === ErrorCode.INVALID_ARGUMENT &&
        /\?table= is a store option: give it as the table option/.test(error.message),
    );
  });

  it('mysql://…?table=t saves into t', async (t) => {
    const skip = await skipUnlessReachable(MARIADB);
    if (skip) return t.skip(skip);
    const mysql = await import('mysql2/promise');
    const table = `zts_url_${process.pid}`;
    const admin = await mysql.createConnection({ host: '127.0.0.1', user: 'root', database: 'test' });
    t.after(async () => {
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
      await admin.end();
    });
    const id = await saveOne(`mysql://root@127.0.0.1:3306/test?table=${table}&poolSize=2&connectTimeout=5000`);
    const [rows] = await admin.query(`SELECT id, user_name FROM ${table}`);
    assert.deepEqual(
      (rows as Record<string, unknown>[]).map((r) => ({ ...r })),
      [{ id, user_name: `${tag}-1@example.com` }],
    );
    await refused(
      openStore('mysql://root:hunter2@127.0.0.1:3306/test?schema=x'),
      ErrorCode.INVALID_STORE_URL,
      /\?schema= does not apply to mysql: stores \(they take: table, createTable, poolSize\)/,
    );
  });

  it('redis://…?prefix=p: writes under p: only; ?keyPrefix= and unknown parameters are refused', async (t) => {
    const skip = await skipUnlessReachable(REDIS);
    if (skip) return t.skip(skip);
    const { Redis } = await import('ioredis');
    const admin = new Redis('redis://127.0.0.1:6379/9');
    const prefix = `zts-url-${process.pid}:`;
    t.after(async () => {
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      admin.disconnect();
    });
    const id = await saveOne(`redis://127.0.0.1:6379/9?prefix=${encodeURIComponent(prefix)}&timeoutMs=4000`);
    const keys = await admin.keys(`${prefix}*`);
    assert.ok(keys.length >= 2, `keys under the prefix: ${keys.join(', ')}`);
    const store = await openStore('redis://127.0.0.1:6379/9', { prefix });
    try {
      assert.equal((await store.findTokenById(id))?.userSignature?.name, `${tag}-1@example.com`);
    } finally {
      await store.close();
    }
    const base = 'redis://:hunter2@127.0.0.1:6379/9';
    await refused(
      openStore(`${base}?keyPrefix=x:`),
      ErrorCode.INVALID_STORE_URL,
      /\?keyPrefix= is not supported: the store names its keys with \?prefix=/,
    );
    await refused(
      openStore(`${base}?retryStrategy=x`),
      ErrorCode.INVALID_STORE_URL,
      /unknown ioredis option \?retryStrategy=/,
    );
    await refused(
      openStore(`${base}?table=x`),
      ErrorCode.INVALID_STORE_URL,
      /\?table= does not apply to redis: stores \(they take: prefix, timeoutMs\)/,
    );
    assert.throws(
      () => new RedisStore({ url: `${base}?prefix=x:` }),
      (error: unknown) => error instanceof ZohoTokenError && /\?prefix= is a store option/.test(error.message),
    );
  });
});

describe('store URLs: what a hostile or mistyped URL cannot do', () => {
  it('a #fragment is refused rather than read one way by openStore and another by the driver', async () => {
    for (const url of [
      `sqlite:${dir}/frag.db#x`,
      'redis://127.0.0.1:6379/15?prefix=review%23x#frag',
      'postgres://postgres@127.0.0.1:5432/test#?table=zz',
    ]) {
      await refused(openStore(url), ErrorCode.INVALID_STORE_URL, /a store URL takes no #fragment \(write # as %23\)/);
    }
    assert.equal(existsSync(join(dir, 'frag.db')), false);
  });

  it('the tail of a password split by an unencoded & or ? is never printed as a parameter name', async () => {
    for (const url of [
      'postgres://postgres@127.0.0.1:5432/test?password=ab&Secr3tTail=',
      'redis://127.0.0.1:6379/0?password=ab&Secr3tTail',
      'postgres://postgres:ab?Secr3t@127.0.0.1:5432/test',
    ]) {
      await assert.rejects(openStore(url), (error: unknown) => {
        assert.ok(error instanceof ZohoTokenError, String(error));
        assert.equal(error.code, ErrorCode.INVALID_STORE_URL);
        assert.ok(!error.message.includes('Secr3t'), error.message);
        if (url.includes('password=')) assert.match(error.message, /percent-encode & \? # in a password/);
        return true;
      });
    }
  });
});
