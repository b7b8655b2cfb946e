// With a key set, no plaintext secret reaches any backend: searched in the raw bytes and rows of
// every store (SQLite file, token file, MySQL, PostgreSQL, Redis), while lookups by every key keep working.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { FileStore, OAuthToken, SqliteStore, withEncryption, type TokenStore } from 'zoho-token-store';
import { MARIADB, POSTGRES, REDIS, skipUnlessReachable } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';
import { keysUnder } from './helpers/redis-keys.js';
import { uniqueSecretsToken } from './helpers/tokens.js';
import { readyStore } from './helpers/ready-store.js';

const KEYS = { keys: { k1: randomBytes(32) } };
const RUN = `${process.pid}_${Date.now().toString(36)}`;

const token = (i: number): OAuthToken =>
  uniqueSecretsToken(i, { clientId: '1000.ATRESTCLIENT', apiDomain: 'https://www.zohoapis.eu' });

/** Each secret in every encoding a careless store could write it in. */
function forms(secret: string): string[] {
  const bytes = Buffer.from(secret);
  return [secret, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')];
}

async function check(inner: TokenStore, raw: () => Promise<string>): Promise<void> {
  const store = withEncryption(inner, KEYS);
  try {
    const tokens = [token(1), token(2), token(3)];
    for (const t of tokens) await store.saveToken(t);
    await store.saveToken(new OAuthToken({ id: tokens[0]!.id, accessToken: `1000.updated${RUN}.beef`, expiresAt: 1 }));
    const dump = await raw();
    const secrets = tokens
      .flatMap((t) => [t.clientSecret!, t.refreshToken!, t.grantToken!, t.accessToken!])
      .concat(`1000.updated${RUN}.beef`);
    for (const secret of secrets)
      for (const form of forms(secret))
        assert.ok(!dump.includes(form), `a secret is stored in plaintext (${form.slice(0, 12)}…)`);
    // What is not secret stays readable for operators.
    assert.ok(dump.includes(tokens[1]!.userName!));
    // Lookups by every key still work through the wrapper.
    const b = tokens[1]!;
    const client = { clientId: b.clientId, clientSecret: b.clientSecret };
    assert.equal((await store.findToken(new OAuthToken({ ...client, refreshToken: b.refreshToken })))?.id, b.id);
    assert.equal((await store.findToken(new OAuthToken({ ...client, grantToken: b.grantToken })))?.id, b.id);
    assert.equal((await store.findToken(new OAuthToken({ accessToken: b.accessToken })))?.id, b.id);
    assert.equal(
      (await store.findToken(new OAuthToken({ ...client, userSignature: b.userSignature })))?.refreshToken,
      b.refreshToken,
    );
    assert.equal((await store.findTokenById(tokens[0]!.id!))?.accessToken, `1000.updated${RUN}.beef`);
  } finally {
    await store.close();
  }
}

const skip = {
  mysql: await skipUnlessReachable(MARIADB),
  postgres: await skipUnlessReachable(POSTGRES),
  redis: await skipUnlessReachable(REDIS),
};

describe('encryption at rest: no plaintext secret in any backend', () => {
  it('SQLite file (database and WAL bytes)', async () => {
    const filename = `${tempDir('at-rest')}/tokens.db`;
    await check(new SqliteStore({ filename }), async () =>
      [filename, `${filename}-wal`]
        .filter(existsSync)
        .map((f) => readFileSync(f).toString('latin1'))
        .join('\n'),
    );
  });

  it('FileStore (the journal, then the token file it is folded into, and the sidecar)', async () => {
    const filename = `${tempDir('at-rest-file')}/sdk_tokens.txt`;
    const inner = new FileStore({ filename, compactDelayMs: 60_000 });
    await check(inner, async () => {
      const journal = readFileSync(`${filename}.journal`).toString('latin1');
      await inner.compact();
      return [
        journal,
        ...[filename, `${filename}.meta`].filter(existsSync).map((f) => readFileSync(f).toString('latin1')),
      ].join('\n');
    });
  });

  it('MySQL / MariaDB (every column of every row)', { skip: skip.mysql }, async () => {
    const mysql = await import('mysql2/promise');
    const { MySqlStore } = await import('zoho-token-store/mysql');
    const table = `at_rest_${RUN}`;
    const admin = await mysql.createConnection({ host: '127.0.0.1', user: 'root', database: 'test' });
    after(async () => {
      for (const t of [table, `${table}_meta`, `${table}_lock`]) await admin.query(`DROP TABLE IF EXISTS \`${t}\``);
      await admin.end();
    });
    await check(await readyStore(new MySqlStore({ url: 'mysql://root@127.0.0.1:3306/test', table })), async () => {
      const [rows] = await admin.query(`SELECT * FROM \`${table}\``);
      return JSON.stringify(rows);
    });
  });

  it('PostgreSQL (every column of every row)', { skip: skip.postgres }, async () => {
    const pg = (await import('pg')).default;
    const { PostgresStore } = await import('zoho-token-store/postgres');
    const table = `at_rest_${RUN}`;
    const admin = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'test' });
    await admin.connect();
    after(async () => {
      for (const t of [table, `${table}_meta`, `${table}_lock`]) await admin.query(`DROP TABLE IF EXISTS "${t}"`);
      await admin.end();
    });
    await check(new PostgresStore({ url: 'postgres://postgres@127.0.0.1:5432/test', table }), async () => {
      const { rows } = await admin.query(`SELECT t::text AS row FROM "${table}" t`);
      return rows.map((r: { row: string }) => r.row).join('\n');
    });
  });

  it('Redis (every key name and every hash field)', { skip: skip.redis }, async () => {
    const { Redis } = await import('ioredis');
    const { RedisStore } = await import('zoho-token-store/redis');
    const prefix = `zts-at-rest:${RUN}:`;
    const admin = new Redis('redis://127.0.0.1:6379');
    const keys = (): Promise<string[]> => keysUnder(admin, prefix);
    after(async () => {
      const all = await keys();
      if (all.length > 0) await admin.del(...all);
      await admin.quit();
    });
    await check(new RedisStore({ url: 'redis://127.0.0.1:6379', prefix }), async () => {
      const parts: string[] = [];
      for (const key of await keys()) {
        parts.push(key);
        const type = await admin.type(key);
        if (type === 'hash') parts.push(JSON.stringify(await admin.hgetall(key)));
        else if (type === 'string') parts.push(String(await admin.get(key)));
        else if (type === 'set') parts.push(JSON.stringify(await admin.smembers(key)));
      }
      return parts.join('\n');
    });
  });
});
