import assert from 'node:assert/strict';
import { chmodSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCode, OAuthToken, SqliteStore, ZohoTokenError } from 'zoho-token-store';
import { describeStoreLock } from 'zoho-token-store/testing';
import { NUMERIC_ID } from '../src/stores/sqlite/sqlite-store.js';
import { assertNoSecrets } from './helpers/errors.js';
import { ODD_ID_ROWS, assertOddIdsLeaveNumberingAlone } from './helpers/odd-ids.js';
import { saveInChild } from './helpers/saver.js';
import { tempDir } from './helpers/temp.js';

const dir = tempDir('sqlite-extras');
let n = 0;
const fresh = (): string => `${dir}/extras-${++n}.db`;
const token = (i: number, extra: object = {}): OAuthToken =>
  new OAuthToken({
    clientId: 'client-1',
    clientSecret: 'secret-1',
    refreshToken: `refresh-${i}-${n}`,
    accessToken: `access-${i}`,
    expiresAt: i,
    ...extra,
  });

const saver = (filename: string, prefix: string, count: number, sharedUser = ''): Promise<string[]> =>
  saveInChild({ kind: 'sqlite', filename }, prefix, count, sharedUser);

describe('SqliteStore specifics', () => {
  it('a lock wait that outlasts close() ends with STORE_CLOSED, not a driver error', async () => {
    const filename = fresh();
    const holder = new SqliteStore({ filename });
    const waiter = new SqliteStore({ filename });
    const held = await holder.lock.acquire('busy', { leaseMs: 60_000, waitMs: 0 });
    assert.ok(held);
    const waiting = waiter.lock.acquire('busy', { leaseMs: 60_000, waitMs: 2_000 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await waiter.close();
    await assert.rejects(waiting, { code: ErrorCode.STORE_CLOSED });
    await held.release();
    await holder.close();
  });

  it('creates the database and its WAL files with mode 0600, in WAL mode with a busy timeout', async () => {
    const filename = fresh();
    const store = new SqliteStore({ filename, busyTimeoutMs: 1234 });
    await store.saveToken(token(1));
    for (const file of [filename, `${filename}-wal`, `${filename}-shm`]) {
      assert.equal(statSync(file).mode & 0o777, 0o600, file);
    }
    await store.close();
    const db = new Database(filename);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('an existing database and its -wal/-shm readable by others are made 0600 when opened', async () => {
    const filename = fresh();
    const other = new Database(filename);
    other.pragma('journal_mode = WAL');
    other.exec('CREATE TABLE t (x)');
    other.exec('INSERT INTO t VALUES (1)');
    const files = [filename, `${filename}-wal`, `${filename}-shm`];
    for (const file of files) chmodSync(file, 0o644);
    const store = new SqliteStore({ filename });
    for (const file of files) assert.equal(statSync(file).mode & 0o777, 0o600, file);
    await store.saveToken(token(1));
    assert.equal((await store.getTokens()).length, 1);
    await store.close();
    other.close();
  });

  it('4 processes saving 50 tokens each at once get 200 distinct ids, and one shared user stays one row', async () => {
    const filename = fresh();
    new SqliteStore({ filename }).close();
    const batches = await Promise.all(['p1', 'p2', 'p3', 'p4'].map((p) => saver(filename, p, 50)));
    const ids = batches.flat();
    assert.equal(ids.length, 200);
    assert.equal(new Set(ids).size, 200);
    for (const id of ids) assert.match(id, /^\d{1,10}$/);
    await Promise.all(['q1', 'q2', 'q3'].map((p) => saver(filename, p, 10, 'shared@example.com')));
    const store = new SqliteStore({ filename });
    const tokens = await store.getTokens();
    assert.equal(tokens.length, 201);
    assert.equal(tokens.filter((t) => t.userName === 'shared@example.com').length, 1);
    await store.close();
  });

  it("opens a table the Python SDK's sample script or an official SDK created, reads its rows, and never reuses '10'", async () => {
    const filename = fresh();
    const db = new Database(filename);
    // The sample script's DDL, verbatim, and rows as its save_token writes them (expiry as text).
    db.exec(
      'CREATE TABLE  oauthtoken (id varchar(10) NOT NULL,user_name varchar(255), client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), primary key (id))',
    );
    const insert = db.prepare(
      'insert into oauthtoken (id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain) values (?,?,?,?,?,?,?,?,?,?)',
    );
    for (let i = 1; i <= 11; i++) {
      insert.run(
        String(i),
        `user${i}@x.com`,
        'cid',
        'csecret',
        `r${i}`,
        `a${i}`,
        null,
        String(1_700_000_000_000 + i),
        'https://cb',
        'https://www.zohoapis.com',
      );
    }
    db.close();
    const store = new SqliteStore({ filename });
    const all = await store.getTokens();
    assert.deepEqual(
      all.map((t) => t.id),
      ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11'],
    );
    const eleventh = await store.findToken(new OAuthToken({ userSignature: 'user11@x.com', clientId: 'cid' }));
    assert.equal(eleventh?.refreshToken, 'r11');
    assert.equal(eleventh?.expiresAt, 1_700_000_000_011);
    assert.equal(eleventh?.accountsUrl, null);
    // Deleting the official SDK's last row must not free its id for another user's token.
    await store.deleteToken('11');
    const next = token(99, { userSignature: 'new@x.com' });
    await store.saveToken(next);
    assert.equal(next.id, '12');
    await store.close();
    // The official column order is kept, ours comes after.
    const check = new Database(filename);
    const columns = (check.prepare('PRAGMA table_info(oauthtoken)').all() as { name: string }[]).map((c) => c.name);
    assert.deepEqual(columns, [
      'id',
      'user_name',
      'client_id',
      'client_secret',
      'refresh_token',
      'access_token',
      'grant_token',
      'expiry_time',
      'redirect_url',
      'api_domain',
      'accounts_url',
    ]);
    assert.equal(check.prepare('select expiry_time from oauthtoken where id = ?').pluck().get('12'), '99');
    check.close();
  });

  it('numbers like every other store: rows with ids that are not plain digits do not count', async () => {
    const filename = fresh();
    const db = new Database(filename);
    // An older table (the index of earlier versions included) with rows other writers left behind.
    db.exec(
      'CREATE TABLE oauthtoken (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), primary key (id))',
    );
    db.exec('CREATE INDEX oauthtoken_id_number ON oauthtoken (CAST(id AS INTEGER))');
    const insert = db.prepare('INSERT INTO oauthtoken (id, access_token) VALUES (?, ?)');
    for (const [id, access] of ODD_ID_ROWS) insert.run(id, access);
    db.close();
    const store = new SqliteStore({ filename });
    try {
      // getTokens lists numeric ids first, in order, then the others.
      assert.deepEqual(
        (await store.getTokens()).map((t) => t.id),
        ['5', ' 9999999', '+77', '12ab'],
      );
      await assertOddIdsLeaveNumberingAlone(store, 'client-1');
    } finally {
      await store.close();
    }
    const check = new Database(filename);
    const indexes = (
      check
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'oauthtoken_%id%'")
        .pluck()
        .all() as string[]
    ).sort();
    check.close();
    assert.deepEqual(indexes, ['oauthtoken_numeric_id']);
  });

  it('answers every lookup from an index, never a table scan', () => {
    const db = new Database(':memory:');
    const store = new SqliteStore({ database: db });
    const plan = (sql: string): string =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all('1', 'u', 'a', 'g', 'r') as { detail: string }[])
        .map((r) => r.detail)
        .join('; ');
    const candidates = plan(
      'SELECT * FROM oauthtoken WHERE id = ? OR user_name = ? OR access_token = ? OR grant_token = ? OR refresh_token = ?',
    );
    assert.doesNotMatch(candidates, /SCAN oauthtoken(?! USING)/, candidates);
    assert.match(candidates, /MULTI-INDEX OR/);
    const largest = (
      db.prepare(`EXPLAIN QUERY PLAN SELECT max(${NUMERIC_ID}) FROM oauthtoken`).all() as { detail: string }[]
    )
      .map((r) => r.detail)
      .join('; ');
    assert.match(largest, /oauthtoken_numeric_id/, largest);
    void store.close();
    db.close();
  });

  // An injected database is never closed: the conformance kit's `injected` test (sqlite-store.test.ts).
  it('closes the database it opened', async () => {
    const own = new SqliteStore({ filename: fresh() });
    await own.close();
    await assert.rejects(own.getTokens(), { code: ErrorCode.STORE_CLOSED });
  });

  it('takes a custom table name and refuses unsafe ones', async () => {
    const db = new Database(':memory:');
    const store = new SqliteStore({ database: db, table: 'tokens_v2' });
    await store.saveToken(token(1));
    assert.equal(db.prepare('select count(*) from tokens_v2').pluck().get(), 1);
    for (const table of ['x"; DROP TABLE oauthtoken; --', 'a b', '', '1abc', 'x'.repeat(64)]) {
      assert.throws(() => new SqliteStore({ database: db, table }), {
        code: ErrorCode.INVALID_ARGUMENT,
        field: 'table',
      });
    }
    assert.throws(() => new SqliteStore({ database: db, synchronous: 'OFF' as 'FULL' }), {
      code: ErrorCode.INVALID_ARGUMENT,
    });
    db.close();
  });

  it('a corrupt row is a typed error naming the row, not a garbage token', async () => {
    const db = new Database(':memory:');
    const store = new SqliteStore({ database: db });
    db.prepare("insert into oauthtoken (id, access_token, expiry_time) values ('5', 'a', 'soon')").run();
    await assert.rejects(store.findTokenById('5'), (error: unknown) => {
      assert.ok(error instanceof ZohoTokenError);
      assert.equal(error.code, ErrorCode.CORRUPT_RECORD);
      assert.match(error.message, /"5"/);
      return true;
    });
    db.close();
  });

  it('a failing write is a STORE_ERROR without secrets, and nothing is half-written', async () => {
    const filename = fresh();
    await new SqliteStore({ filename }).close();
    const readonly = new Database(filename, { readonly: true });
    const store = new SqliteStore({ database: readonly });
    const secret = new OAuthToken({
      clientId: 'c',
      clientSecret: 'client-secret-value',
      refreshToken: 'refresh-secret-value',
      accessToken: 'access-secret-value',
    });
    await assert.rejects(store.saveToken(secret), (error: unknown) => {
      assertNoSecrets(error, ['client-secret-value', 'refresh-secret-value', 'access-secret-value']);
      assert.equal(error.code, ErrorCode.STORE_ERROR);
      return true;
    });
    readonly.close();
  });
});

describeStoreLock(
  { describe, it },
  {
    name: 'SqliteStore (two instances on one file)',
    createPair: async () => {
      const filename = fresh();
      return [new SqliteStore({ filename }), new SqliteStore({ filename })];
    },
  },
);
