import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { ErrorCode, OAuthToken, isZohoTokenError } from 'zoho-token-store';
import { MySqlStore } from 'zoho-token-store/mysql';
import { describeStoreLock, describeTokenStore } from 'zoho-token-store/testing';
import { assertNoSecrets } from './helpers/errors.js';
import { ODD_ID_ROWS, assertOddIdsLeaveNumberingAlone } from './helpers/odd-ids.js';
import { saveInChild } from './helpers/saver.js';
import { MARIADB, skipUnlessReachable } from './helpers/services.js';
import { readyStore } from './helpers/ready-store.js';
import { OFFICIAL_LAYOUT, sdkRow } from './helpers/official-layout.js';

const URL = `mysql://root@${MARIADB.host}:${MARIADB.port}/test`;
const skip = await skipUnlessReachable(MARIADB);

// Every store gets its own table, named after this process, all dropped at the end.
const tables = new Set<string>();
let n = 0;
const fresh = (prefix = 'kit'): string => {
  const table = `${prefix}_${process.pid}_${++n}`;
  tables.add(table);
  return table;
};
let adminPool: mysql.Pool | undefined;
const admin = (): mysql.Pool => (adminPool ??= mysql.createPool({ uri: URL, connectionLimit: 4 }));
after(async () => {
  if (adminPool === undefined) return;
  const names = [...tables].flatMap((t) => [t, `${t}_meta`, `${t}_lock`]).map((t) => `\`${t}\``);
  if (names.length > 0) await adminPool.query(`DROP TABLE IF EXISTS ${names.join(', ')}`);
  await adminPool.end();
});

const CLIENT = { clientId: '1000.CLIENT', clientSecret: 'client-secret-value' };
const token = (i: number, extra: object = {}): OAuthToken =>
  new OAuthToken({
    ...CLIENT,
    refreshToken: `refresh-${i}-${n}`,
    accessToken: `access-${i}`,
    expiresAt: i,
    userSignature: `user${i}@x.com`,
    ...extra,
  });

const saver = (table: string, prefix: string, count: number, sharedUser = ''): Promise<string[]> =>
  saveInChild({ kind: 'mysql', url: URL, table }, prefix, count, sharedUser);

/** The official SDKs' DDL, verbatim but for the table name. */
const officialDdl = (table: string): string =>
  `create table ${table}(id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), primary key (id))`;

async function columnsOf(table: string): Promise<{ name: string; type: string; extra: string }[]> {
  const [rows] = await admin().query(
    'SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, EXTRA AS extra FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [table],
  );
  return rows as { name: string; type: string; extra: string }[];
}

/** Ids of the server connections running a statement that starts with `prefix`. */
async function connectionsRunning(prefix: string): Promise<number[]> {
  const [rows] = await admin().query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE INFO LIKE ?', [
    `${prefix}%`,
  ]);
  return (rows as { id: number }[]).map((row) => row.id);
}

describe('MySqlStore (MariaDB)', { skip }, () => {
  describeTokenStore(
    { describe, it },
    {
      name: 'MySqlStore',
      create: () => readyStore(new MySqlStore({ url: URL, table: fresh(), poolSize: 4 })),
      reopen: (store) => readyStore(new MySqlStore({ url: URL, table: (store as MySqlStore).table, poolSize: 4 })),
      injected: () => {
        const pool = mysql.createPool({ uri: URL, connectionLimit: 2 });
        return {
          store: new MySqlStore({ pool, table: fresh('userpool') }),
          stillOpen: async () => assert.deepEqual((await pool.query('SELECT 1 AS ok'))[0], [{ ok: 1 }]),
          dispose: () => pool.end(),
        };
      },
    },
  );

  describeStoreLock(
    { describe, it },
    {
      name: 'MySqlStore (two pools, one table)',
      createPair: async () => {
        const table = fresh('lock');
        return [
          await readyStore(new MySqlStore({ url: URL, table, poolSize: 2 })),
          await readyStore(new MySqlStore({ url: URL, table, poolSize: 2 })),
        ];
      },
    },
  );

  describe('MySqlStore specifics', () => {
    it('opens a table the official SDK created and filled, never reuses "10", and the SDK can read our rows', async () => {
      const table = fresh('official');
      await admin().query(officialDdl(table));
      // Rows as the SDK writes them: ids "1".."12" (one "10"), expiry as a string, NULLs.
      for (let i = 1; i <= 12; i++) {
        await admin().query(
          `INSERT INTO ${table}(id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain) VALUES ?`,
          [[sdkRow(i, i % 2 ? 'https://cb' : null)]],
        );
      }
      const store = await readyStore(new MySqlStore({ url: URL, table }));
      try {
        const all = await store.getTokens();
        assert.deepEqual(
          all.map((t) => t.id),
          ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'],
        );
        const tenth = await store.findToken(new OAuthToken({ userSignature: 'user10@x.com', clientId: 'cid' }));
        assert.equal(tenth?.id, '10');
        assert.equal(tenth?.refreshToken, 'r10');
        assert.equal(tenth?.expiresAt, 1_700_000_000_010);
        assert.equal(tenth?.redirectUrl, null);
        assert.equal(tenth?.grantToken, null);
        assert.equal(tenth?.accountsUrl, null);
        // Deleting the official SDK's last row must not free its id for another user's token.
        await store.deleteToken('12');
        const next = new OAuthToken({
          ...CLIENT,
          userSignature: "o'brien@x.com",
          refreshToken: 'r-new',
          accessToken: 'a-new',
          expiresAt: 1_767_225_600_000,
          apiDomain: 'https://www.zohoapis.eu',
          accountsUrl: 'https://accounts.zoho.eu',
        });
        await store.saveToken(next);
        assert.equal(next.id, '13');
      } finally {
        await store.close();
      }
      // The official columns keep their types and order; ours follow, the helper columns are invisible.
      const columns = await columnsOf(table);
      assert.deepEqual(
        columns.slice(0, 11).map((c) => c.name),
        [...OFFICIAL_LAYOUT],
      );
      assert.deepEqual(
        columns.slice(0, 10).map((c) => c.type),
        ['varchar(10)', ...Array(6).fill('varchar(255)'), 'varchar(20)', 'varchar(255)', 'varchar(255)'],
      );
      for (const column of columns.slice(11)) assert.match(column.extra, /INVISIBLE/, column.name);
      // What the SDK's `select *` sees, positionally.
      const [rows] = await admin().query({ sql: `select * from ${table} where id = ?`, rowsAsArray: true }, ['13']);
      assert.deepEqual((rows as unknown[][])[0], [
        '13',
        "o'brien@x.com",
        CLIENT.clientId,
        CLIENT.clientSecret,
        'r-new',
        'a-new',
        null,
        '1767225600000',
        null,
        'https://www.zohoapis.eu',
        'https://accounts.zoho.eu',
      ]);
    });

    it('numbers like every store: rows under ids of other shapes do not count, and ids match exactly despite PAD SPACE', async () => {
      const table = fresh('oddids');
      await admin().query(officialDdl(table));
      for (const [id, access] of ODD_ID_ROWS) {
        await admin().query(`INSERT INTO ${table} (id, access_token) VALUES (?, ?)`, [id, access]);
      }
      const store = await readyStore(new MySqlStore({ url: URL, table }));
      try {
        await assertOddIdsLeaveNumberingAlone(store, CLIENT.clientId);
      } finally {
        await store.close();
      }
    });

    it('in an official table: a value longer than varchar(255) is refused by name, never truncated', async () => {
      const table = fresh('official');
      await admin().query(officialDdl(table));
      const store = await readyStore(new MySqlStore({ url: URL, table }));
      try {
        const long = `refresh-secret-${'x'.repeat(300)}`;
        await assert.rejects(store.saveToken(token(1, { refreshToken: long })), (error: unknown) => {
          assert.ok(isZohoTokenError(error, ErrorCode.INVALID_TOKEN));
          assert.equal(error.field, 'refreshToken');
          assert.match(error.message, /refresh_token/);
          assertNoSecrets(error, [long]);
          return true;
        });
        // 255 characters, emoji included, fit exactly.
        const exact = `${'🙂'.repeat(5)}${'y'.repeat(250)}`;
        const fits = token(2, { refreshToken: exact });
        await store.saveToken(fits);
        assert.equal((await store.findTokenById(fits.id!))?.refreshToken, exact);
        assert.equal((await store.getTokens()).length, 1);
      } finally {
        await store.close();
      }
    });

    it('a character the column cannot hold (emoji in a latin1 table) is refused, never replaced', async () => {
      const table = fresh('latin1');
      await admin().query(`${officialDdl(table)} DEFAULT CHARSET=latin1`);
      const store = await readyStore(new MySqlStore({ url: URL, table }));
      try {
        await assert.rejects(store.saveToken(token(1, { userSignature: 'smile🙂@x.com' })), (error: unknown) => {
          assert.ok(isZohoTokenError(error, ErrorCode.INVALID_TOKEN));
          assert.equal(error.field, 'userSignature');
          return true;
        });
        assert.deepEqual(await store.getTokens(), []);
        const plain = token(2, { userSignature: 'Zoë@x.com' });
        await store.saveToken(plain);
        assert.equal((await store.findToken(new OAuthToken({ ...CLIENT, userSignature: 'Zoë@x.com' })))?.id, plain.id);
      } finally {
        await store.close();
      }
    });

    it('uniqueness is exact and case-sensitive, in our table and in an official (case-insensitive) one', async () => {
      const official = fresh('official');
      await admin().query(officialDdl(official));
      for (const table of [fresh('exact'), official]) {
        const store = await readyStore(new MySqlStore({ url: URL, table }));
        try {
          const upper = token(1, { userSignature: 'A@x.com', refreshToken: 'Refresh-ABC' });
          const lower = token(2, { userSignature: 'a@x.com', refreshToken: 'refresh-abc' });
          const spaced = token(3, { userSignature: 'a@x.com ', refreshToken: 'refresh-abc ' });
          for (const t of [upper, lower, spaced]) await store.saveToken(t);
          assert.equal(new Set([upper.id, lower.id, spaced.id]).size, 3, table);
          assert.equal((await store.findToken(new OAuthToken({ ...CLIENT, userSignature: 'a@x.com' })))?.id, lower.id);
          assert.equal(
            (await store.findToken(new OAuthToken({ ...CLIENT, refreshToken: 'refresh-abc ' })))?.id,
            spaced.id,
          );
          // SQL's `=` ignores trailing spaces; ids must not.
          assert.equal(await store.findTokenById(`${upper.id} `), null);
          await store.deleteToken(`${upper.id} `);
          assert.equal((await store.getTokens()).length, 3);
        } finally {
          await store.close();
        }
      }
    });

    it('several instances preparing one table at once all succeed, on a new and on an official table', async () => {
      const official = fresh('official');
      await admin().query(officialDdl(official));
      await admin().query(
        `INSERT INTO ${official} (id, user_name, client_id, client_secret, refresh_token) VALUES ('1', 'u@x.com', 'cid', 's', 'r1')`,
      );
      for (const table of [fresh('race'), official]) {
        const stores = await Promise.all(
          Array.from({ length: 4 }, () => readyStore(new MySqlStore({ url: URL, table, poolSize: 2 }))),
        );
        await Promise.all(stores.map((store, i) => store.saveToken(token(i))));
        assert.equal((await stores[0]!.getTokens()).length, table === official ? 5 : 4);
        await Promise.all(stores.map((store) => store.close()));
      }
    });

    it('4 processes saving 50 tokens each at once get 200 distinct ids, and one shared user stays one row', async () => {
      const table = fresh('procs');
      await (await readyStore(new MySqlStore({ url: URL, table }))).close();
      const batches = await Promise.all(['p1', 'p2', 'p3', 'p4'].map((p) => saver(table, p, 50)));
      const ids = batches.flat();
      assert.equal(ids.length, 200);
      assert.equal(new Set(ids).size, 200);
      for (const id of ids) assert.match(id, /^\d{1,10}$/);
      await Promise.all(['q1', 'q2', 'q3'].map((p) => saver(table, p, 10, 'shared@example.com')));
      const store = await readyStore(new MySqlStore({ url: URL, table }));
      const tokens = await store.getTokens();
      assert.equal(tokens.length, 201);
      assert.equal(tokens.filter((t) => t.userName === 'shared@example.com').length, 1);
      await store.close();
    });

    // A pool the caller gave is never closed: the conformance kit's `injected` test, above.
    it("the session strict mode of a save does not leak into the caller's pool", async () => {
      const pool = mysql.createPool({ uri: URL, connectionLimit: 2 });
      try {
        const store = new MySqlStore({ pool, table: fresh('userpool') });
        await store.saveToken(token(1));
        await store.close();
        const [modes] = await pool.query('SELECT @@SESSION.sql_mode AS mode');
        assert.equal((modes as { mode: string }[])[0]!.mode.includes('STRICT_ALL_TABLES'), false);
      } finally {
        await pool.end();
      }
    });

    it('refuses unsafe table names, bad URLs and bad options without echoing the URL', () => {
      for (const table of ['x`; DROP TABLE oauthtoken; --', 'a b', '', '1abc', 'x'.repeat(60), 'a-b', 'naïve']) {
        assert.throws(
          () => new MySqlStore({ url: URL, table }),
          { code: ErrorCode.INVALID_ARGUMENT, field: 'table' },
          table,
        );
      }
      for (const url of [
        'postgres://root:hunter2@127.0.0.1/test',
        'mysql://root:hunter2@127.0.0.1/',
        'not a url hunter2',
        'mysql://root:hunter2@127.0.0.1/a/b',
      ]) {
        assert.throws(
          () => new MySqlStore({ url }),
          (error: unknown) => {
            assert.ok(isZohoTokenError(error, ErrorCode.INVALID_ARGUMENT));
            assert.equal(error.field, 'url');
            assert.doesNotMatch(`${error.message} ${inspect(error)}`, /hunter2/);
            return true;
          },
        );
      }
      assert.throws(() => new MySqlStore({}), { code: ErrorCode.INVALID_ARGUMENT });
      const pool = mysql.createPool({ uri: URL });
      assert.throws(() => new MySqlStore({ url: URL, pool }), { code: ErrorCode.INVALID_ARGUMENT });
      void pool.end();
      assert.throws(() => new MySqlStore({ url: URL, poolSize: 0 }), {
        code: ErrorCode.INVALID_ARGUMENT,
        field: 'poolSize',
      });
      // The deprecated name is still checked, under its own name.
      assert.throws(() => new MySqlStore({ url: URL, connectionLimit: 0 }), {
        code: ErrorCode.INVALID_ARGUMENT,
        field: 'connectionLimit',
      });
    });

    it('the deprecated MySqlStore.open (construct, then ready) and connectionLimit still work', async () => {
      const store = await MySqlStore.open({ url: URL, table: fresh(), connectionLimit: 2 });
      try {
        const saved = token(1);
        await store.saveToken(saved);
        assert.equal((await store.findTokenById(saved.id!))?.refreshToken, saved.refreshToken);
      } finally {
        await store.close();
      }
      await assert.rejects(MySqlStore.open({ url: 'mysql://root@127.0.0.1:1/test' }), { code: ErrorCode.STORE_ERROR });
      // Bad options reject like every other failure of an async factory; they never throw.
      const refused = MySqlStore.open({} as never);
      await assert.rejects(refused, { code: ErrorCode.INVALID_ARGUMENT });
    });

    it('an unreachable server is a STORE_ERROR from ready(), without the password', async () => {
      await assert.rejects(
        readyStore(new MySqlStore({ url: 'mysql://root:hunter2@127.0.0.1:1/test' })),
        (error: unknown) => {
          assert.ok(isZohoTokenError(error, ErrorCode.STORE_ERROR));
          assert.doesNotMatch(`${error.message} ${inspect(error, { depth: 10, showHidden: true })}`, /hunter2/);
          return true;
        },
      );
    });

    it('with createTable: false, a missing schema is a clear STORE_ERROR and nothing is created', async () => {
      const table = fresh('nocreate');
      await assert.rejects(readyStore(new MySqlStore({ url: URL, table, createTable: false })), (error: unknown) => {
        assert.ok(isZohoTokenError(error, ErrorCode.STORE_ERROR));
        assert.match(error.message, /createTable/);
        return true;
      });
      assert.deepEqual(await columnsOf(table), []);
      await (await readyStore(new MySqlStore({ url: URL, table }))).close();
      const store = await readyStore(new MySqlStore({ url: URL, table, createTable: false }));
      await store.saveToken(token(1));
      assert.equal((await store.getTokens()).length, 1);
      await store.close();
    });

    it('a connection dropped mid-save is a STORE_ERROR that loses nothing acknowledged, and the store recovers', async () => {
      const table = fresh('drop');
      const store = await readyStore(new MySqlStore({ url: URL, table, poolSize: 2 }));
      const blocker = await admin().getConnection();
      try {
        const kept = token(1);
        await store.saveToken(kept);
        // Hold the meta row, so the next save waits inside its transaction; then kill its connection.
        await blocker.query('START TRANSACTION');
        await blocker.query(`SELECT * FROM \`${table}_meta\` FOR UPDATE`);
        const lost = token(2);
        // Observe the outcome now: the rejection may land while the test is still awaiting the KILL.
        const outcome = store.saveToken(lost).then(
          () => 'saved',
          (error: unknown) => error,
        );
        let ids: number[] = [];
        for (let i = 0; i < 200 && ids.length === 0; i++) {
          await sleep(10);
          ids = await connectionsRunning(`INSERT INTO \`${table}_meta\``);
        }
        assert.equal(ids.length, 1);
        await admin().query(`KILL ${ids[0]}`);
        const error = await outcome;
        assert.ok(isZohoTokenError(error, ErrorCode.STORE_ERROR), `expected a STORE_ERROR, got ${String(error)}`);
        assertNoSecrets(error, [lost.refreshToken!, lost.accessToken!, lost.clientSecret!]);
        await blocker.query('ROLLBACK');
        const after = await store.getTokens();
        assert.deepEqual(
          after.map((t) => t.id),
          [kept.id],
        );
        const next = token(3);
        await store.saveToken(next);
        assert.equal((await store.findTokenById(next.id!))?.refreshToken, next.refreshToken);
      } finally {
        blocker.release();
        await store.close();
      }
    });

    it('connections the server dropped while idle are replaced: the next call of every kind works', async () => {
      const pool = mysql.createPool({ uri: URL, connectionLimit: 1 });
      const store = await readyStore(new MySqlStore({ pool, table: fresh('idle') }));
      const killIdle = async (): Promise<void> => {
        const [rows] = await pool.query('SELECT CONNECTION_ID() AS id');
        await admin().query(`KILL ${(rows as { id: number }[])[0]!.id}`);
        await sleep(20);
      };
      try {
        await killIdle();
        const a = token(1);
        await store.saveToken(a);
        await killIdle();
        assert.equal((await store.getTokens()).length, 1);
        await killIdle();
        assert.equal((await store.findToken(new OAuthToken({ ...CLIENT, refreshToken: a.refreshToken })))?.id, a.id);
        await killIdle();
        assert.ok(await store.lock.acquire('idle', { leaseMs: 1000, waitMs: 0 }));
      } finally {
        await store.close();
        await pool.end();
      }
    });

    it('driver errors never echo secrets (MySQL quotes duplicate values in its messages)', async () => {
      const table = fresh('echo');
      const store = await readyStore(new MySqlStore({ url: URL, table }));
      try {
        // A unique index of the user's own on the access token: the server refuses the second row.
        await admin().query(`ALTER TABLE ${table} ADD UNIQUE KEY access_echo (access_token(64))`);
        const access = 'access-secret-value-0123456789';
        const first = new OAuthToken({
          clientId: 'c',
          clientSecret: 'client-secret-value-1',
          refreshToken: 'refresh-secret-value-1',
          accessToken: access,
          userSignature: 'one@x.com',
        });
        await store.saveToken(first);
        const second = new OAuthToken({
          clientId: 'c',
          clientSecret: 'client-secret-value-2',
          refreshToken: 'refresh-secret-value-2',
          accessToken: access,
          userSignature: 'two@x.com',
        });
        // The raw driver error does quote the value, so the check below means something.
        await assert.rejects(
          admin().execute(`INSERT INTO ${table} (id, access_token) VALUES ('99', ?)`, [access]),
          (error: Error) => error.message.includes(access),
        );
        await assert.rejects(store.saveToken(second), (error: unknown) => {
          assert.ok(isZohoTokenError(error, ErrorCode.TOKEN_CONFLICT));
          assertNoSecrets(error, [
            access,
            'client-secret-value-1',
            'client-secret-value-2',
            'refresh-secret-value-1',
            'refresh-secret-value-2',
          ]);
          return true;
        });
        assert.equal((await store.getTokens()).length, 1);
      } finally {
        await store.close();
      }
    });
  });
});
