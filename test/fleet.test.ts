// Issue 4, "one refresh across the fleet": 8 processes × 25 concurrent callers share one store and
// one expired token; Zoho (the emulator) must see one refresh, and a lock holder killed mid-refresh
// must cost one more refresh, not a storm. For every server store, and the SQLite file store.
// Issue 16: the same on a private Redis Cluster and a Sentinel set-up, plus their master killed
// mid-run: a replica takes over and the fleet still ends with exactly one refresh.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { SqliteStore } from 'zoho-token-store';
import { MySqlStore } from 'zoho-token-store/mysql';
import { PostgresStore } from 'zoho-token-store/postgres';
import { RedisStore } from 'zoho-token-store/redis';
import { describeFleet, startFleetRig, until, type FleetCase } from './helpers/fleet-suite.js';
import { MARIADB, POSTGRES, REDIS, skipUnlessReachable } from './helpers/services.js';
import { deleteKeysUnder } from './helpers/redis-keys.js';
import { readyStore } from './helpers/ready-store.js';
import { skipUnlessRedisServer, startRedisCluster, startRedisSentinel } from './helpers/redis-cluster.js';

const name = `zts_fleet_${process.pid}`;

const PG_URL = `postgres://postgres@${POSTGRES.host}:${POSTGRES.port}/test`;
const MYSQL_URL = `mysql://root@${MARIADB.host}:${MARIADB.port}/test`;
const REDIS_URL = `redis://${REDIS.host}:${REDIS.port}`;
const dir = mkdtempSync(join(tmpdir(), 'zts-fleet-'));
const file = join(dir, 'tokens.db');
const prefix = `zts-fleet:${process.pid}:`;

const cases: FleetCase[] = [
  {
    title: 'SQLite file',
    skip: false,
    user: 'fleet-sqlite@example.com',
    spec: { kind: 'sqlite', file },
    open: async () => new SqliteStore({ filename: file }),
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  },
  {
    title: 'PostgreSQL',
    skip: await skipUnlessReachable(POSTGRES),
    user: 'fleet-postgres@example.com',
    spec: { kind: 'postgres', url: PG_URL, table: name },
    open: async () => new PostgresStore({ url: PG_URL, table: name, poolSize: 3 }),
    drop: async () => {
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`DROP TABLE IF EXISTS "${name}", "${name}_meta", "${name}_lock" CASCADE`);
      await admin.end();
    },
  },
  {
    title: 'MySQL (MariaDB)',
    skip: await skipUnlessReachable(MARIADB),
    user: 'fleet-mysql@example.com',
    spec: { kind: 'mysql', url: MYSQL_URL, table: name },
    open: () => readyStore(new MySqlStore({ url: MYSQL_URL, table: name, poolSize: 3 })),
    drop: async () => {
      const admin = await mysql.createConnection({ uri: MYSQL_URL });
      await admin.query(`DROP TABLE IF EXISTS \`${name}\`, \`${name}_meta\`, \`${name}_lock\``);
      await admin.end();
    },
  },
  {
    title: 'Redis',
    skip: await skipUnlessReachable(REDIS),
    user: 'fleet-redis@example.com',
    spec: { kind: 'redis', url: REDIS_URL, prefix },
    open: async () => new RedisStore({ url: REDIS_URL, prefix }),
    drop: () => deleteKeysUnder(REDIS_URL, prefix),
  },
];

// Private deployments (never the shared Redis): each dies with its case, so only the last test of
// the case may kill a master. A failover takes about 2-3 s: the stores get a 10 s time limit.
const topologySkip = skipUnlessRedisServer();
if (topologySkip === false) {
  const cluster = await startRedisCluster();
  after(() => cluster.close());
  const sentinel = await startRedisSentinel();
  after(() => sentinel.close());
  cases.push(
    {
      title: 'Redis Cluster',
      skip: false,
      user: 'fleet-cluster@example.com',
      spec: { kind: 'redis', url: cluster.url, prefix, timeoutMs: 10_000 },
      open: async () => new RedisStore({ url: cluster.url, prefix, timeoutMs: 10_000 }),
      drop: () => cluster.close(),
      async killMaster() {
        const killed = await cluster.masterOf(`{${prefix}}`);
        await cluster.kill(killed);
        return async () => {
          await until(async () => {
            const now = await cluster.masterOf(`{${prefix}}`).catch(() => killed);
            return now !== killed;
          }, "a replica promoted to the killed master's slots");
        };
      },
    },
    {
      title: 'Redis Sentinel',
      skip: false,
      user: 'fleet-sentinel@example.com',
      spec: { kind: 'redis', url: sentinel.url, prefix, timeoutMs: 10_000 },
      open: async () => new RedisStore({ url: sentinel.url, prefix, timeoutMs: 10_000 }),
      drop: () => sentinel.close(),
      async killMaster() {
        const killed = await sentinel.master();
        await sentinel.kill(killed);
        return async () => {
          await until(async () => (await sentinel.master()) !== killed, 'the Sentinels to promote the replica');
        };
      },
    },
  );
} else {
  for (const title of ['Redis Cluster', 'Redis Sentinel']) {
    cases.push({
      title,
      skip: topologySkip,
      user: '',
      spec: { kind: 'redis', url: '', prefix },
      open: () => Promise.reject(new Error('skipped')),
      drop: async () => {},
    });
  }
}

const rig = await startFleetRig();
for (const c of cases) describeFleet(c, rig);
