import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { ErrorCode, OAuthToken, ZohoTokenError } from 'zoho-token-store';
import { PostgresStore, type PostgresPool, type PostgresPoolClient } from 'zoho-token-store/postgres';
import { describeStoreLock, describeTokenStore } from 'zoho-token-store/testing';
import { saveInChild } from './helpers/saver.js';
import { ODD_ID_ROWS, assertOddIdsLeaveNumberingAlone } from './helpers/odd-ids.js';
import { POSTGRES, skipUnlessReachable } from './helpers/services.js';
import { rejectsWith as rejectsWithCode } from './helpers/errors.js';
import { OFFICIAL_LAYOUT } from './helpers/official-layout.js';

const URL = `postgres://postgres@${POSTGRES.host}:${POSTGRES.port}/test`;
const prefix = `zts_${process.pid}`;
const tables: string[] = [];
let n = 0;
/** A table name of this test process only; every one is dropped at the end. */
const fresh = (kind = 'kit'): string => {
  const table = `${kind}_${process.pid}_${++n}`;
  tables.push(table);
  return table;
};
const appName = (what: string): string => `${prefix}_${what}_${++n}`;
const token = (i: number, extra: object = {}): OAuthToken =>
  new OAuthToken({
    clientId: 'client-1',
    clientSecret: 'secret-1',
    refreshToken: `refresh-${i}-${n}`,
    accessToken: `access-${i}-${n}`,
    expiresAt: i,
    ...extra,
  });

const saver = (table: string, who: string, count: number, sharedUser = ''): Promise<string[]> =>
  saveInChild({ kind: 'postgres', url: URL, table }, who, count, sharedUser);

/** Everything a log line or an error report could show of an error. */
const shown = (error: ZohoTokenError): string =>
  [
    error.message,
    String(error.cause),
    JSON.stringify(error),
    inspect(error, { depth: 10 }),
    (error.cause as Error | undefined)?.stack,
  ].join('\n');

/** Wraps a pool so that every statement the store sends is recorded with its parameters. */
function recording(pool: pg.Pool, log: { text: string; values: unknown[] }[]): PostgresPool {
  return {
    connect: async (): Promise<PostgresPoolClient> => {
      const client = await pool.connect();
      return {
        query: (text, values) => {
          log.push({ text, values: values ?? [] });
          return client.query(text, values);
        },
        release: (destroy) => client.release(destroy),
        on: (event, listener) => client.on(event, listener),
        removeListener: (event, listener) => client.removeListener(event, listener),
      };
    },
  };
}

describe('PostgresStore', { skip: await skipUnlessReachable(POSTGRES) }, () => {
  const admin = new pg.Pool({ connectionString: URL, max: 4 });
  admin.on('error', () => {});
  const schema = `${prefix}_schema`;
  const leak = `${prefix}_leak`;
  const role = `${prefix}_app`;

  after(async () => {
    for (const table of tables) {
      await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_meta", "${table}_lock" CASCADE`);
    }
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.query(`DROP FUNCTION IF EXISTS "${leak}"() CASCADE`);
    if ((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount) {
      await admin.query(`DROP OWNED BY "${role}"`);
      await admin.query(`DROP ROLE "${role}"`);
    }
    await admin.end();
  });

  describeTokenStore(
    { describe, it },
    {
      name: 'PostgresStore',
      create: () => new PostgresStore({ url: URL, table: fresh() }),
      reopen: (store) => new PostgresStore({ url: URL, table: (store as PostgresStore).table }),
      injected: () => {
        const pool = new pg.Pool({ connectionString: URL, max: 2 });
        return {
          store: new PostgresStore({ pool, table: fresh() }),
          stillOpen: async () => assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1),
          dispose: () => pool.end(),
        };
      },
    },
  );

  describeStoreLock(
    { describe, it },
    {
      name: 'PostgresStore (two pools, one table)',
      notifies: true,
      createPair: async (pair) => {
        const table = fresh('lock');
        return [new PostgresStore({ url: URL, table, ...pair }), new PostgresStore({ url: URL, table, ...pair })];
      },
    },
  );

  describe('PostgresStore specifics', () => {
    // A pool the caller gave is never ended: the conformance kit's `injected` test, above.
    it('ends the pool it opened', async () => {
      const application = appName('own');
      const own = new PostgresStore({ url: `${URL}?application_name=${application}`, table: fresh() });
      await own.saveToken(token(2));
      const count = async (): Promise<number> =>
        Number(
          (await admin.query('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [application]))
            .rows[0].n,
        );
      assert.ok((await count()) >= 1);
      await own.close();
      await own.close();
      for (let i = 0; i < 50 && (await count()) > 0; i++) await sleep(20);
      assert.equal(await count(), 0, 'close() must end the pool the store opened');
    });

    it('refuses hostile table and schema names and bad options, without echoing a password', async () => {
      for (const table of ['x"; DROP TABLE oauthtoken; --', 'a b', '', '1abc', 'a.b', 'x'.repeat(50)]) {
        assert.throws(
          () => new PostgresStore({ pool: admin, table }),
          { code: ErrorCode.INVALID_ARGUMENT, field: 'table' },
          table,
        );
      }
      for (const name of ['public"; --', 'a-b', '', 'x'.repeat(64)]) {
        assert.throws(
          () => new PostgresStore({ pool: admin, schema: name }),
          { code: ErrorCode.INVALID_ARGUMENT, field: 'schema' },
          name,
        );
      }
      assert.doesNotThrow(() => new PostgresStore({ pool: admin, table: 'x'.repeat(49) }));
      assert.throws(() => new PostgresStore({ url: URL, pool: admin }), { code: ErrorCode.INVALID_ARGUMENT });
      assert.throws(() => new PostgresStore({}), { code: ErrorCode.INVALID_ARGUMENT, field: 'url' });
      assert.throws(() => new PostgresStore({ url: URL, poolSize: 0 }), {
        code: ErrorCode.INVALID_ARGUMENT,
        field: 'poolSize',
      });
      assert.throws(
        () => new PostgresStore({ url: 'mysql://root:hunter2-password@localhost/db' }),
        (error: unknown) =>
          error instanceof ZohoTokenError &&
          error.code === ErrorCode.INVALID_ARGUMENT &&
          !shown(error).includes('hunter2'),
      );
      // A server that refuses the password: a STORE_ERROR that does not show it.
      const wrong = new PostgresStore({
        url: 'postgres://nobody:hunter2-password@127.0.0.1:1/test',
        connectTimeoutMs: 2000,
      });
      const error = await rejectsWithCode(wrong.getTokens(), ErrorCode.STORE_ERROR);
      assert.ok(!shown(error).includes('hunter2'), shown(error));
      await wrong.close();
    });

    it('uses the given schema and table, quoted', async () => {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      const store = new PostgresStore({ url: URL, schema, table: 'Tokens_V2' });
      await store.saveToken(token(1));
      assert.equal(Number((await admin.query(`SELECT count(*) AS n FROM "${schema}"."Tokens_V2"`)).rows[0].n), 1);
      assert.equal(Number((await admin.query(`SELECT value FROM "${schema}"."Tokens_V2_meta"`)).rows[0].value), 1);
      await store.close();
    });

    it('numbers like every store: rows under ids of other shapes do not count, and ids match exactly', async () => {
      const table = fresh('oddids');
      const store = new PostgresStore({ url: URL, table });
      try {
        await store.getTokens();
        for (const [id, access] of ODD_ID_ROWS) {
          await admin.query(`INSERT INTO "${table}" (id, access_token) VALUES ($1, $2)`, [id, access]);
        }
        await assertOddIdsLeaveNumberingAlone(store, 'client-1');
      } finally {
        await store.close();
      }
    });

    it('creates the official column layout with text columns, and reads rows an official SDK wrote', async () => {
      const table = fresh('seed');
      // The official SDKs' MySQL DDL, as PostgreSQL takes it, with rows as they write them.
      await admin.query(
        `CREATE TABLE "${table}" (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), client_secret varchar(255), ` +
          `refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), ` +
          `redirect_url varchar(255), api_domain varchar(255), primary key (id))`,
      );
      for (let i = 1; i <= 11; i++) {
        await admin.query(
          `INSERT INTO "${table}" VALUES ($1, $2, 'cid', 'csecret', $3, $4, NULL, $5, 'https://cb', 'https://www.zohoapis.com')`,
          [String(i), `user${i}@x.com`, `r${i}`, `a${i}`, String(1_700_000_000_000 + i)],
        );
      }
      const store = new PostgresStore({ url: URL, table });
      assert.deepEqual(
        (await store.getTokens()).map((t) => t.id),
        ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11'],
      );
      const eleventh = await store.findToken(new OAuthToken({ userSignature: 'user11@x.com', clientId: 'cid' }));
      assert.equal(eleventh?.expiresAt, 1_700_000_000_011);
      // Deleting the official SDK's last row must not free its id for another user's token.
      await store.deleteToken('11');
      const next = token(99, { userSignature: 'new@x.com' });
      await store.saveToken(next);
      assert.equal(next.id, '12');
      await store.deleteTokens();
      const after = token(100, { userSignature: 'after@x.com' });
      await store.saveToken(after);
      assert.equal(after.id, '13');
      await store.close();
      const columns = await admin.query(
        'SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
        [table],
      );
      assert.deepEqual(
        columns.rows.map((r) => r.column_name),
        [...OFFICIAL_LAYOUT],
      );
      const ours = fresh();
      await new PostgresStore({ url: URL, table: ours }).ready();
      const types = await admin.query(
        'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
        [ours],
      );
      assert.deepEqual(
        types.rows.map((r) => r.column_name),
        columns.rows.map((r) => r.column_name),
      );
      assert.equal(types.rows[0].data_type, 'character varying');
      assert.equal(types.rows.find((r) => r.column_name === 'refresh_token').data_type, 'text');
    });

    it('with createTable: false, ready() still connects and checks the schema: a missing table or a dead server fails there', async () => {
      const table = fresh();
      const missing = new PostgresStore({ url: URL, table, createTable: false });
      const error = await rejectsWithCode(missing.ready(), ErrorCode.STORE_ERROR);
      assert.match(error.message, /schema of table .* is incomplete.*createTable: true/);
      await missing.close();
      const dead = new PostgresStore({ url: 'postgres://someone:hunter2@127.0.0.1:1/test', table, createTable: false });
      const refused = await rejectsWithCode(dead.ready(), ErrorCode.STORE_ERROR);
      assert.doesNotMatch(`${refused.message} ${String(refused.cause)}`, /hunter2/);
      await dead.close();
      assert.equal((await admin.query('SELECT to_regclass($1) AS t', [table])).rows[0].t, null, 'nothing created');
    });

    it('serves a database user without DDL rights once the schema exists, with createTable on or off', async () => {
      const table = fresh();
      await new PostgresStore({ pool: admin, table }).ready();
      await admin.query(`CREATE ROLE "${role}" LOGIN`);
      await admin.query(
        `GRANT SELECT, INSERT, UPDATE, DELETE ON "${table}", "${table}_meta", "${table}_lock" TO "${role}"`,
      );
      const url = `postgres://${role}@${POSTGRES.host}:${POSTGRES.port}/test`;
      for (const createTable of [true, false]) {
        const store = new PostgresStore({ url, table, createTable });
        await store.saveToken(token(createTable ? 1 : 2));
        const held = await store.lock.acquire('x', { leaseMs: 1000, waitMs: 0 });
        assert.ok(held);
        await held.release();
        await store.close();
      }
      const missing = new PostgresStore({ url, table: fresh() });
      const error = await rejectsWithCode(missing.getTokens(), ErrorCode.STORE_ERROR);
      assert.match(error.message, /cannot prepare the token table: permission denied/);
      await missing.close();
    });

    it('the unique indexes enforce the no-duplicates rules, NULL client ids included', async () => {
      const table = fresh();
      await new PostgresStore({ pool: admin, table }).ready();
      const insert = (
        id: string,
        user: string | null,
        client: string | null,
        refresh: string | null = null,
      ): Promise<unknown> =>
        admin.query(`INSERT INTO "${table}" (id, user_name, client_id, refresh_token) VALUES ($1, $2, $3, $4)`, [
          id,
          user,
          client,
          refresh,
        ]);
      await insert('1', 'a@x', null);
      await insert('2', 'b@x', null); // other users without a client id: allowed
      await insert('3', 'a@x', 'c1'); // the same user for a client: allowed
      await insert('4', null, null);
      await insert('5', null, null); // rows without a user are not constrained
      await assert.rejects(insert('6', 'a@x', null), { code: '23505' });
      await assert.rejects(insert('7', 'a@x', 'c1'), { code: '23505' });
      await insert('8', 'c@x', 'c1', 'k'.repeat(64 * 1024));
      await assert.rejects(insert('9', 'd@x', 'c1', 'k'.repeat(64 * 1024)), { code: '23505' });
    });

    it('4 processes saving 50 tokens each at once get 200 distinct ids, and one shared user stays one row', async () => {
      const table = fresh();
      const creator = new PostgresStore({ url: URL, table });
      await creator.ready();
      await creator.close();
      const ids = (await Promise.all(['p1', 'p2', 'p3', 'p4'].map((p) => saver(table, p, 50)))).flat();
      assert.equal(ids.length, 200);
      assert.equal(new Set(ids).size, 200);
      for (const id of ids) assert.match(id, /^\d{1,10}$/);
      await Promise.all(['q1', 'q2', 'q3'].map((p) => saver(table, p, 10, 'shared@example.com')));
      const store = new PostgresStore({ url: URL, table });
      const tokens = await store.getTokens();
      assert.equal(tokens.length, 201);
      assert.equal(tokens.filter((t) => t.userName === 'shared@example.com').length, 1);
      await store.close();
    });

    it('several stores creating the same new table at the same moment all succeed', async () => {
      for (let round = 0; round < 3; round++) {
        const table = fresh();
        const stores = Array.from({ length: 4 }, () => new PostgresStore({ url: URL, table, poolSize: 2 }));
        await Promise.all(stores.map((s) => s.ready()));
        await Promise.all(stores.map((s, i) => s.saveToken(token(i))));
        assert.equal((await stores[0]!.getTokens()).length, 4);
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it('answers every lookup from an index at 10,000 rows, never a sequential scan', async () => {
      const table = fresh();
      const log: { text: string; values: unknown[] }[] = [];
      const store = new PostgresStore({ pool: recording(admin, log), table });
      await store.ready();
      await admin.query(
        `INSERT INTO "${table}" (id, user_name, client_id, client_secret, refresh_token, access_token, grant_token, expiry_time) ` +
          `SELECT i::text, 'user' || i || '@x.com', 'cid', 'sec', 'refresh-' || i, 'access-' || i, 'grant-' || i, '1700000000000' ` +
          `FROM generate_series(1, 10000) AS i`,
      );
      await admin.query(`ANALYZE "${table}"`);
      const client = { clientId: 'cid', clientSecret: 'sec' };
      assert.equal((await store.findToken(new OAuthToken({ ...client, userSignature: 'user77@x.com' })))?.id, '77');
      assert.equal((await store.findToken(new OAuthToken({ ...client, refreshToken: 'refresh-78' })))?.id, '78');
      assert.equal((await store.findToken(new OAuthToken({ ...client, grantToken: 'grant-79' })))?.id, '79');
      assert.equal((await store.findToken(new OAuthToken({ accessToken: 'access-80' })))?.id, '80');
      assert.equal((await store.findTokenById('81'))?.id, '81');
      await store.saveToken(new OAuthToken({ ...client, refreshToken: 'refresh-82', accessToken: 'new' }));
      const added = new OAuthToken({ ...client, refreshToken: 'refresh-new', userSignature: 'new@x.com' });
      await store.saveToken(added);
      assert.equal(added.id, '10001');
      await store.deleteToken('83');
      await store.close();

      const statements = log.filter(
        ({ text }) => text.includes(`"${table}"`) && /\bWHERE\b|\bmax\(/.test(text) && !text.startsWith('INSERT'),
      );
      assert.ok(statements.length >= 9, `recorded ${statements.length} statements`);
      for (const { text, values } of statements) {
        const plan = (await admin.query(`EXPLAIN ${text}`, values)).rows.map((r) => r['QUERY PLAN']).join('\n');
        // The one-row side table of the id high-water mark may be scanned; the token table never.
        assert.doesNotMatch(plan, new RegExp(`Seq Scan on "?${table}"?(?![_A-Za-z0-9])`), `${text}\n${plan}`);
        assert.match(plan, /Index/, `${text}\n${plan}`);
        if (text.startsWith('SELECT max(')) assert.match(plan, new RegExp(`${table}_id_number`), plan);
      }
    });

    it('a connection dropped mid-save is a STORE_ERROR, loses nothing acknowledged, and the store recovers', async () => {
      const table = fresh();
      const application = appName('drop');
      const store = new PostgresStore({ url: `${URL}?application_name=${application}`, table });
      const kept = token(1, { userSignature: 'kept@x.com' });
      await store.saveToken(kept);
      // Hold the id high-water row, so the next insert waits on it; then kill the waiting backend.
      const blocker = await admin.connect();
      await blocker.query('BEGIN');
      await blocker.query(`SELECT * FROM "${table}_meta" FOR UPDATE`);
      const lost = token(2, { userSignature: 'lost@x.com' });
      const saving = store.saveToken(lost);
      // Handled from the start: the rejection may land before the assertion below is reached.
      saving.catch(() => undefined);
      let pid: unknown;
      for (let i = 0; i < 200 && pid === undefined; i++) {
        const waiting = await admin.query(
          "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
          [application],
        );
        pid = waiting.rows[0]?.pid;
        if (pid === undefined) await sleep(10);
      }
      assert.ok(pid !== undefined, 'the save never waited on the lock');
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const error = await rejectsWithCode(saving, ErrorCode.STORE_ERROR);
      assert.match(error.message, /PostgresStore/);
      await blocker.query('ROLLBACK');
      blocker.release();

      assert.equal((await store.findTokenById(kept.id!))?.userName, 'kept@x.com');
      assert.equal(
        await store.findToken(new OAuthToken({ userSignature: 'lost@x.com' })),
        null,
        'the failed save wrote nothing',
      );
      await store.saveToken(lost);
      assert.equal((await store.findTokenById(lost.id!))?.userName, 'lost@x.com');

      // Idle connections killed under the pool: its 'error' event must not crash the process.
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
        application,
      ]);
      await sleep(200);
      assert.equal((await store.getTokens()).length, 2);
      await store.close();
    });

    it('driver errors never show a secret: not in the message, the cause, JSON or inspect', async () => {
      const table = fresh();
      const store = new PostgresStore({ url: URL, table });
      const a = new OAuthToken({
        clientId: 'cid',
        clientSecret: 'secret-value-AAAA',
        refreshToken: 'refresh-value-AAAA',
        accessToken: 'access-value-AAAA',
      });
      const b = new OAuthToken({
        clientId: 'cid',
        clientSecret: 'secret-value-BBBB',
        refreshToken: 'refresh-value-BBBB',
        accessToken: 'access-value-BBBB',
      });
      await store.saveToken(a);
      await store.saveToken(b);

      // A constraint the matching rules do not know: PostgreSQL's detail echoes the duplicate value.
      await admin.query(`CREATE UNIQUE INDEX ON "${table}" (client_secret)`);
      const conflict = await rejectsWithCode(
        store.saveToken(new OAuthToken({ id: b.id, clientSecret: 'secret-value-AAAA' })),
        ErrorCode.TOKEN_CONFLICT,
      );
      assert.equal((conflict.cause as { code?: string }).code, '23505');
      assert.equal((conflict.cause as { detail?: string }).detail, undefined);
      assert.ok(!shown(conflict).includes('secret-value-AAAA'), shown(conflict));

      // A server error whose message quotes the values being written.
      await admin.query(
        `CREATE FUNCTION "${leak}"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ` +
          `RAISE EXCEPTION 'rejected % %', NEW.refresh_token, NEW.client_secret USING DETAIL = NEW.access_token; END $$`,
      );
      await admin.query(
        `CREATE TRIGGER leak BEFORE INSERT OR UPDATE ON "${table}" FOR EACH ROW EXECUTE FUNCTION "${leak}"()`,
      );
      const c = new OAuthToken({
        clientId: 'cid',
        clientSecret: 'secret-value-CCCC',
        refreshToken: 'refresh-value-CCCC',
        accessToken: 'access-value-CCCC',
      });
      const failed = await rejectsWithCode(store.saveToken(c), ErrorCode.STORE_ERROR);
      assert.match(failed.message, /rejected/);
      for (const secret of ['secret-value-CCCC', 'refresh-value-CCCC', 'access-value-CCCC']) {
        assert.ok(!shown(failed).includes(secret), shown(failed));
      }
      assert.equal(await store.findToken(new OAuthToken({ accessToken: 'access-value-CCCC' })), null);
      await store.close();
    });
  });
});
