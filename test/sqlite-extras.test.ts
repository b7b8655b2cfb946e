import assert from 'node:assert/strict';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ErrorCode, OAuthToken, SqliteStore, ZohoTokenError } from 'zoho-token-store';
import { describeStoreLock } from 'zoho-token-store/testing';
import { pickDriver } from '../src/stores/sqlite/sqlite-connect.js';
import { sqliteCodeName } from '../src/stores/sqlite/sqlite-driver-node.js';
import { NUMERIC_ID, type SqliteDatabase } from '../src/stores/sqlite/sqlite-store.js';
import { assertNoSecrets } from './helpers/errors.js';
import { ODD_ID_ROWS, assertOddIdsLeaveNumberingAlone } from './helpers/odd-ids.js';
import { saveInChild } from './helpers/saver.js';
import { SQLITE_DRIVERS, openRaw, skipUnless } from './helpers/sqlite-drivers.js';
import { tempDir } from './helpers/temp.js';
import { OFFICIAL_LAYOUT, sdkRow } from './helpers/official-layout.js';

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

for (const driver of SQLITE_DRIVERS) {
  describe(`SqliteStore specifics (${driver})`, () => {
    it('a lock wait that outlasts close() ends with STORE_CLOSED, not a driver error', async () => {
      const filename = fresh();
      const holder = new SqliteStore({ filename, driver });
      const waiter = new SqliteStore({ filename, driver });
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
      const store = new SqliteStore({ filename, driver, busyTimeoutMs: 1234 });
      await store.saveToken(token(1));
      for (const file of [filename, `${filename}-wal`, `${filename}-shm`]) {
        assert.equal(statSync(file).mode & 0o777, 0o600, file);
      }
      await store.close();
      const db = openRaw(driver, filename);
      assert.equal(db.value('PRAGMA journal_mode'), 'wal');
      db.close();
    });

    it('an existing database and its -wal/-shm readable by others are made 0600 when opened', async () => {
      const filename = fresh();
      const other = openRaw(driver, filename);
      other.exec('PRAGMA journal_mode = WAL');
      other.exec('CREATE TABLE t (x)');
      other.exec('INSERT INTO t VALUES (1)');
      const files = [filename, `${filename}-wal`, `${filename}-shm`];
      for (const file of files) chmodSync(file, 0o644);
      const store = new SqliteStore({ filename, driver });
      for (const file of files) assert.equal(statSync(file).mode & 0o777, 0o600, file);
      await store.saveToken(token(1));
      assert.equal((await store.getTokens()).length, 1);
      await store.close();
      other.close();
    });

    it('4 processes saving 50 tokens each at once get 200 distinct ids, and one shared user stays one row', async () => {
      const filename = fresh();
      new SqliteStore({ filename, driver }).close();
      const batches = await Promise.all(['p1', 'p2', 'p3', 'p4'].map((p) => saver(filename, p, 50)));
      const ids = batches.flat();
      assert.equal(ids.length, 200);
      assert.equal(new Set(ids).size, 200);
      for (const id of ids) assert.match(id, /^\d{1,10}$/);
      await Promise.all(['q1', 'q2', 'q3'].map((p) => saver(filename, p, 10, 'shared@example.com')));
      const store = new SqliteStore({ filename, driver });
      const tokens = await store.getTokens();
      assert.equal(tokens.length, 201);
      assert.equal(tokens.filter((t) => t.userName === 'shared@example.com').length, 1);
      await store.close();
    });

    it("opens a table the Python SDK's sample script or an official SDK created, reads its rows, and never reuses '10'", async () => {
      const filename = fresh();
      const db = openRaw(driver, filename);
      // The sample script's DDL, verbatim, and rows as its save_token writes them (expiry as text).
      db.exec(
        'CREATE TABLE  oauthtoken (id varchar(10) NOT NULL,user_name varchar(255), client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), primary key (id))',
      );
      for (let i = 1; i <= 11; i++) {
        db.run(
          'insert into oauthtoken (id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain) values (?,?,?,?,?,?,?,?,?,?)',
          ...sdkRow(i),
        );
      }
      db.close();
      const store = new SqliteStore({ filename, driver });
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
      const check = openRaw(driver, filename);
      const columns = check.all('PRAGMA table_info(oauthtoken)').map((c) => c['name']);
      assert.deepEqual(columns, [...OFFICIAL_LAYOUT]);
      assert.equal(check.value('select expiry_time from oauthtoken where id = ?', '12'), '99');
      check.close();
    });

    it('numbers like every other store: rows with ids that are not plain digits do not count', async () => {
      const filename = fresh();
      const db = openRaw(driver, filename);
      // An older table (the index of earlier versions included) with rows other writers left behind.
      db.exec(
        'CREATE TABLE oauthtoken (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), primary key (id))',
      );
      db.exec('CREATE INDEX oauthtoken_id_number ON oauthtoken (CAST(id AS INTEGER))');
      for (const [id, access] of ODD_ID_ROWS)
        db.run('INSERT INTO oauthtoken (id, access_token) VALUES (?, ?)', id, access);
      db.close();
      const store = new SqliteStore({ filename, driver });
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
      const check = openRaw(driver, filename);
      const indexes = check
        .all("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'oauthtoken_%id%'")
        .map((r) => r['name'])
        .sort();
      check.close();
      assert.deepEqual(indexes, ['oauthtoken_numeric_id']);
    });

    it('answers every lookup from an index, never a table scan', () => {
      const db = openRaw(driver, ':memory:');
      const store = new SqliteStore({ database: db.native });
      const plan = (sql: string): string =>
        db
          .all(`EXPLAIN QUERY PLAN ${sql}`, '1', 'u', 'a', 'g', 'r')
          .map((r) => r['detail'])
          .join('; ');
      const candidates = plan(
        'SELECT * FROM oauthtoken WHERE id = ? OR user_name = ? OR access_token = ? OR grant_token = ? OR refresh_token = ?',
      );
      assert.doesNotMatch(candidates, /SCAN oauthtoken(?! USING)/, candidates);
      assert.match(candidates, /MULTI-INDEX OR/);
      const largest = db
        .all(`EXPLAIN QUERY PLAN SELECT max(${NUMERIC_ID}) FROM oauthtoken`)
        .map((r) => r['detail'])
        .join('; ');
      assert.match(largest, /oauthtoken_numeric_id/, largest);
      void store.close();
      db.close();
    });

    // An injected database is never closed: the conformance kit's `injected` test (sqlite-store.test.ts).
    it("another process's write past the busy timeout: the lock is just not taken, a save fails cleanly", async () => {
      const filename = fresh();
      const store = new SqliteStore({ filename, driver, busyTimeoutMs: 0 });
      await store.saveToken(token(1));
      const writer = openRaw(driver, filename);
      writer.exec('BEGIN IMMEDIATE');
      try {
        assert.equal(await store.lock.acquire('busy', { leaseMs: 1000, waitMs: 0 }), null);
        await assert.rejects(store.saveToken(token(2)), { code: ErrorCode.STORE_ERROR });
      } finally {
        writer.exec('ROLLBACK');
        writer.close();
      }
      const held = await store.lock.acquire('busy', { leaseMs: 1000, waitMs: 0 });
      assert.ok(held);
      await held.release();
      await store.saveToken(token(3));
      assert.equal((await store.getTokens()).length, 2);
      await store.close();
    });

    it('saves arriving together: a refused one rolls back alone (its savepoint), the others commit', async () => {
      const store = new SqliteStore({ filename: fresh(), driver });
      const a = token(1, { userSignature: 'a@example.com' });
      const b = token(2, { userSignature: 'b@example.com' });
      await store.saveToken(a);
      await store.saveToken(b);
      const clash = new OAuthToken({
        clientId: 'client-1',
        clientSecret: 'secret-1',
        userSignature: 'a@example.com',
        refreshToken: b.refreshToken,
        accessToken: 'x',
      });
      const [first, refused, last] = await Promise.allSettled([
        store.saveToken(token(3)),
        store.saveToken(clash),
        store.saveToken(token(4)),
      ]);
      assert.equal(first.status, 'fulfilled');
      assert.equal(last.status, 'fulfilled');
      assert.equal(refused.status, 'rejected');
      assert.equal((refused.reason as ZohoTokenError).code, ErrorCode.TOKEN_CONFLICT);
      assert.equal((await store.getTokens()).length, 4);
      assert.equal((await store.findTokenById(a.id!))?.accessToken, a.accessToken);
      await store.close();
    });

    it('closes the database it opened', async () => {
      const own = new SqliteStore({ filename: fresh(), driver });
      await own.close();
      await assert.rejects(own.getTokens(), { code: ErrorCode.STORE_CLOSED });
    });

    it('takes a custom table name and refuses unsafe ones', async () => {
      const db = openRaw(driver, ':memory:');
      const store = new SqliteStore({ database: db.native, table: 'tokens_v2' });
      await store.saveToken(token(1));
      assert.equal(db.value('select count(*) from tokens_v2'), 1);
      for (const table of ['x"; DROP TABLE oauthtoken; --', 'a b', '', '1abc', 'x'.repeat(64)]) {
        assert.throws(() => new SqliteStore({ database: db.native, table }), {
          code: ErrorCode.INVALID_ARGUMENT,
          field: 'table',
        });
      }
      assert.throws(() => new SqliteStore({ database: db.native, synchronous: 'OFF' as 'FULL' }), {
        code: ErrorCode.INVALID_ARGUMENT,
      });
      db.close();
    });

    it('a corrupt row is a typed error naming the row, not a garbage token', async () => {
      const db = openRaw(driver, ':memory:');
      const store = new SqliteStore({ database: db.native });
      db.run("insert into oauthtoken (id, access_token, expiry_time) values ('5', 'a', 'soon')");
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
      await new SqliteStore({ filename, driver }).close();
      const readonly = openRaw(driver, filename, { readonly: true });
      const store = new SqliteStore({ database: readonly.native });
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
      name: `SqliteStore (two instances on one file, ${driver})`,
      createPair: async () => {
        const filename = fresh();
        return [new SqliteStore({ filename, driver }), new SqliteStore({ filename, driver })];
      },
    },
  );
}

describe('SqliteStore drivers', () => {
  it('picks node:sqlite where the runtime has it, else better-sqlite3, and says which', async () => {
    const store = new SqliteStore({ filename: ':memory:' });
    assert.equal(store.driver, SQLITE_DRIVERS[0]);
    await store.close();
    for (const driver of SQLITE_DRIVERS) {
      const chosen = new SqliteStore({ filename: ':memory:', driver });
      assert.equal(chosen.driver, driver);
      await chosen.close();
    }
  });

  it('refuses an unknown driver, a database of neither kind, and a driver that contradicts the database', () => {
    assert.throws(() => new SqliteStore({ filename: ':memory:', driver: 'sqlite3' as 'node:sqlite' }), {
      code: ErrorCode.INVALID_ARGUMENT,
      field: 'driver',
    });
    const fake = { exec: () => {}, close: () => {} } as unknown as SqliteDatabase;
    assert.throws(() => new SqliteStore({ database: fake }), { code: ErrorCode.INVALID_ARGUMENT, field: 'database' });
    for (const driver of SQLITE_DRIVERS) {
      const db = openRaw(driver, ':memory:');
      const other = driver === 'node:sqlite' ? 'better-sqlite3' : 'node:sqlite';
      assert.throws(() => new SqliteStore({ database: db.native, driver: other }), {
        code: ErrorCode.INVALID_ARGUMENT,
        field: 'driver',
      });
      db.close();
    }
  });

  for (const driver of ['node:sqlite', 'better-sqlite3'] as const) {
    it(
      `a missing ${driver} is DRIVER_MISSING naming both ways out, and creates no file`,
      {
        skip: SQLITE_DRIVERS.includes(driver) && `${driver} is available here`,
      },
      () => {
        const filename = fresh();
        assert.throws(
          () => new SqliteStore({ filename, driver }),
          (error: unknown) => {
            assert.ok(error instanceof ZohoTokenError);
            assert.equal(error.code, ErrorCode.DRIVER_MISSING);
            assert.match(error.message, /Node\.js ≥ 22\.13/);
            assert.match(error.message, /better-sqlite3/);
            return true;
          },
        );
        assert.ok(!existsSync(filename));
      },
    );
  }

  it(
    'both drivers read and write the same file',
    { skip: skipUnless('node:sqlite') || skipUnless('better-sqlite3') },
    async () => {
      const filename = fresh();
      const first = new SqliteStore({ filename, driver: 'node:sqlite' });
      const saved = token(1, { userSignature: 'both@example.com' });
      await first.saveToken(saved);
      await first.close();
      const second = new SqliteStore({ filename, driver: 'better-sqlite3' });
      assert.equal((await second.findTokenById(saved.id!))?.refreshToken, saved.refreshToken);
      const next = token(2);
      await second.saveToken(next);
      await second.close();
      const third = new SqliteStore({ filename, driver: 'node:sqlite' });
      assert.deepEqual(
        (await third.getTokens()).map((t) => t.id),
        [saved.id, next.id],
      );
      await third.close();
    },
  );

  for (const driver of SQLITE_DRIVERS) {
    it(`${driver} connection: a failed nested transaction rolls back to its savepoint alone; a top-level throw rolls back all`, () => {
      const db = pickDriver('test', driver).open(':memory:', { fileMustExist: false });
      db.exec('CREATE TABLE t (x UNIQUE)');
      const insert = db.prepare('INSERT INTO t VALUES (?)');
      const values = (): unknown[] =>
        db
          .prepare('SELECT x FROM t ORDER BY x')
          .all()
          .map((row) => row['x']);
      const inner = db.transaction((x: number) => {
        insert.run(x);
        insert.run(x);
      });
      db.transaction(() => {
        insert.run(1);
        assert.throws(
          () => inner(2),
          (error: unknown) => db.errorCode(error) === 'SQLITE_CONSTRAINT_UNIQUE',
        );
        insert.run(3);
      }, 'immediate')();
      assert.deepEqual(values(), [1, 3]);
      assert.throws(
        () =>
          db.transaction(() => {
            insert.run(4);
            throw new Error('refused');
          })(),
        /refused/,
      );
      assert.throws(
        () => db.transaction(() => insert.run(1))(),
        (error: unknown) => db.errorCode(error)!.startsWith('SQLITE_CONSTRAINT'),
      );
      assert.deepEqual(values(), [1, 3]);
      db.close();
    });
  }

  it("names node:sqlite's error numbers as better-sqlite3 does, so conflicts and busy waits read alike", () => {
    const nodeError = (errcode: number): object => ({ code: 'ERR_SQLITE_ERROR', errcode, errstr: 'x' });
    assert.equal(sqliteCodeName(nodeError(2067)), 'SQLITE_CONSTRAINT_UNIQUE');
    assert.equal(sqliteCodeName(nodeError(1555)), 'SQLITE_CONSTRAINT_PRIMARYKEY');
    assert.equal(sqliteCodeName(nodeError(19)), 'SQLITE_CONSTRAINT');
    assert.equal(sqliteCodeName(nodeError(5)), 'SQLITE_BUSY');
    assert.equal(sqliteCodeName(nodeError(517)), 'SQLITE_BUSY_SNAPSHOT');
    assert.equal(sqliteCodeName(nodeError(8)), 'SQLITE_READONLY');
    assert.equal(sqliteCodeName(nodeError(10 | (7 << 8))), 'SQLITE_IOERR');
    assert.equal(sqliteCodeName({ code: 'SQLITE_BUSY' }), undefined);
    assert.equal(sqliteCodeName(new Error('x')), undefined);
    assert.equal(sqliteCodeName(null), undefined);
  });
});
