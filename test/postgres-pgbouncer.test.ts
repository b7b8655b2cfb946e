// Issue 16 item 3: PostgresStore behind PgBouncer in transaction pooling mode (as Supabase, Neon and
// most serverless setups run it). Each transaction may land on another server connection, so the
// store must rely on no session state: its locks are rows of a side table, its DDL lock is
// transaction-scoped (pg_advisory_xact_lock), and `pg` sends parameters through unnamed
// statements. The conformance kit, the lock kit and the fleet test run through the pooler.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresStore } from 'zoho-token-store/postgres';
import { describeStoreLock, describeTokenStore } from 'zoho-token-store/testing';
import { describeFleet, startFleetRig } from './helpers/fleet-suite.js';
import { skipUnlessPgBouncer, startPgBouncer, type PgBouncer } from './helpers/pgbouncer.js';
import { POSTGRES, skipUnlessReachable } from './helpers/services.js';

const DIRECT_URL = `postgres://postgres@${POSTGRES.host}:${POSTGRES.port}/test`;
const skip = (await skipUnlessReachable(POSTGRES)) || skipUnlessPgBouncer();
const tables: string[] = [];
let n = 0;
/** A table name of this test process only; every one is dropped at the end (directly, not pooled). */
const fresh = (kind: string): string => {
  const table = `pgb_${kind}_${process.pid}_${++n}`;
  tables.push(table);
  return table;
};

after(async () => {
  if (skip || tables.length === 0) return;
  const admin = new pg.Client({ connectionString: DIRECT_URL });
  await admin.connect();
  try {
    for (const table of tables) {
      await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_meta", "${table}_lock" CASCADE`);
    }
  } finally {
    await admin.end();
  }
});

const bouncer: PgBouncer | undefined = skip ? undefined : await startPgBouncer(POSTGRES, 'test');
const url = bouncer?.url ?? '';

describe('PgBouncer (transaction pooling) in front of the shared PostgreSQL', { skip }, () => {
  it('shares few server connections among more clients: no client owns a session', async () => {
    const clients = Array.from({ length: bouncer!.poolSize + 3 }, () => new pg.Client({ connectionString: url }));
    try {
      await Promise.all(clients.map((c) => c.connect()));
      const pids = new Set<number>();
      for (const client of clients) {
        pids.add(Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid));
      }
      assert.ok(
        pids.size <= bouncer!.poolSize,
        `${clients.length} clients used ${pids.size} server connections (pool of ${bouncer!.poolSize})`,
      );
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
    }
  });
});

describe('PostgresStore behind PgBouncer (transaction pooling)', { skip }, () => {
  describeTokenStore(
    { describe, it },
    {
      name: 'PostgresStore via PgBouncer',
      create: () => new PostgresStore({ url, table: fresh('kit') }),
      reopen: (store) => new PostgresStore({ url, table: (store as PostgresStore).table }),
      injected: () => {
        const pool = new pg.Pool({ connectionString: url, max: 2 });
        return {
          store: new PostgresStore({ pool, table: fresh('kit') }),
          stillOpen: async () => assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1),
          dispose: () => pool.end(),
        };
      },
    },
  );

  describeStoreLock(
    { describe, it },
    {
      name: 'PostgresStore via PgBouncer (two pools, one table)',
      createPair: async () => {
        const table = fresh('lock');
        return [new PostgresStore({ url, table }), new PostgresStore({ url, table })];
      },
    },
  );
});

if (!skip) {
  const table = fresh('fleet');
  describeFleet(
    {
      title: 'PostgreSQL behind PgBouncer (transaction pooling)',
      skip,
      user: 'fleet-pgbouncer@example.com',
      spec: { kind: 'postgres', url, table },
      open: async () => new PostgresStore({ url, table, poolSize: 3 }),
      // The tables go with the others, in the file's after().
      drop: async () => {},
    },
    await startFleetRig(),
  );
}
