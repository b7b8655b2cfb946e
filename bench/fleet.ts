/**
 * Fleet benchmark (issue 4): the server stores (PostgreSQL, MySQL/MariaDB, Redis) at 10,000 stored
 * tokens beside the SQLite file store, the official TypeScript SDK's MySQL DBStore for reference, and
 * what coordinating one refresh costs: from expiry until 200 callers in 8 processes are all served.
 * Every store operation goes through the public store API; the servers are the local ones of the tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { OAuthToken, SqliteStore, ZohoAuth, refreshAccessToken, type TokenStore } from 'zoho-token-store';
import { startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { Fleet, type FleetStoreSpec, type FleetTask } from '../test/fixtures/fleet-worker.js';
import { benchToken } from './fixtures.js';
import { fmt, measure, type Summary } from './measure.js';
import type { SectionResult } from './section.js';
import type { Panel } from './svg-chart.js';

const SIZE = 10_000;
const SAMPLES = 1_000;
/** The official DBStore connects once per operation: fewer samples keep it to seconds. */
const SDK_SAMPLES = 300;
const WORKERS = 8;
const CALLERS = 25;
/** Timed rounds of the refresh, after one untimed warm-up round. */
const ROUNDS = 5;
/** Direct refresh requests timed for the refresh round trip. */
const RTT_SAMPLES = 30;
const FILL_CONCURRENCY = 16;

const CLIENT = {
  clientId: '1000.BENCHFLEETCLIENT00000000000000',
  clientSecret: 'bench-fleet-secret-0123456789abcdef01234',
};
const SCOPES = ['ZohoCRM.org.READ'];
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const MYSQL_URL = 'mysql://root@127.0.0.1:3306/test';
const REDIS_URL = 'redis://127.0.0.1:6379';
const NAME = `zts_bench_fleet_${process.pid}`;

const token = (i: number): OAuthToken => benchToken(i, CLIENT);

interface Target {
  name: string;
  /** The name on the chart, where space is short. */
  label: string;
  /** How the fleet's workers open the same data. */
  spec: FleetStoreSpec;
  /** A store holding SIZE tokens; resolves to it and the ids of the tokens. */
  open(): Promise<{ store: TokenStore; ids: string[] }>;
  drop(): Promise<void>;
}

/** Saves SIZE tokens, FILL_CONCURRENCY at a time (filling is not what is measured). */
async function fill(store: TokenStore): Promise<string[]> {
  const ids: string[] = [];
  let next = 1;
  await Promise.all(
    Array.from({ length: FILL_CONCURRENCY }, async () => {
      while (next <= SIZE) {
        const t = token(next++);
        await store.saveToken(t);
        ids.push(t.id!);
      }
    }),
  );
  return ids;
}

function targets(dir: string): Target[] {
  const file = join(dir, 'fleet.db');
  const prefix = `zts-bench-fleet:${process.pid}:`;
  return [
    {
      name: 'SQLite file (synchronous=FULL)',
      label: 'SQLite file (FULL)',
      spec: { kind: 'sqlite', file },
      open: async () => {
        // Fill without fsync, then reopen with the defaults (as bench/stores.ts does).
        const filler = new SqliteStore({ filename: file, synchronous: 'NORMAL' });
        const ids = await fill(filler);
        await filler.close();
        return { store: new SqliteStore({ filename: file }), ids };
      },
      drop: async () => undefined,
    },
    {
      name: 'PostgreSQL',
      label: 'PostgreSQL',
      spec: { kind: 'postgres', url: PG_URL, table: NAME },
      open: async () => {
        const { PostgresStore } = await import('zoho-token-store/postgres');
        const { default: pg } = await import('pg');
        // Fill on sessions that do not wait for the WAL flush, then measure on a default store.
        const pool = new pg.Pool({
          connectionString: PG_URL,
          max: FILL_CONCURRENCY,
          options: '-c synchronous_commit=off',
        });
        const filler = new PostgresStore({ pool, table: NAME });
        try {
          const ids = await fill(filler);
          return { store: new PostgresStore({ url: PG_URL, table: NAME }), ids };
        } finally {
          await filler.close();
          await pool.end();
        }
      },
      drop: async () => {
        const { default: pg } = await import('pg');
        const admin = new pg.Client({ connectionString: PG_URL });
        await admin.connect();
        await admin.query(`DROP TABLE IF EXISTS "${NAME}", "${NAME}_meta", "${NAME}_lock" CASCADE`);
        await admin.end();
      },
    },
    {
      name: 'MySQL (MariaDB)',
      label: 'MySQL (MariaDB)',
      spec: { kind: 'mysql', url: MYSQL_URL, table: NAME },
      open: async () => {
        const { MySqlStore } = await import('zoho-token-store/mysql');
        const store = new MySqlStore({ url: MYSQL_URL, table: NAME });
        await store.ready();
        return { store, ids: await fill(store) };
      },
      drop: async () => {
        const { default: mysql } = await import('mysql2/promise');
        const admin = await mysql.createConnection({ uri: MYSQL_URL });
        await admin.query(`DROP TABLE IF EXISTS \`${NAME}\`, \`${NAME}_meta\`, \`${NAME}_lock\``);
        await admin.end();
      },
    },
    {
      name: 'Redis',
      label: 'Redis',
      spec: { kind: 'redis', url: REDIS_URL, prefix },
      open: async () => {
        const { RedisStore } = await import('zoho-token-store/redis');
        const store = new RedisStore({ url: REDIS_URL, prefix });
        return { store, ids: await fill(store) };
      },
      drop: async () => (await import('../test/helpers/redis-keys.js')).deleteKeysUnder(REDIS_URL, prefix),
    },
  ];
}

interface Row {
  name: string;
  label: string;
  byId?: Summary;
  byUser?: Summary;
  update?: Summary;
  /** Median ms from expiry to all callers served, and with the token still fresh (parent's clock, closes included). */
  refreshMs?: number;
  freshMs?: number;
  /** Median over rounds of the slowest worker's own time from "go" to its last caller served. */
  servedMs?: number;
  /** The same with the token fresh: no refresh, one store read per caller (the floor). */
  freshServedMs?: number;
  /** Median ms of one refresh request to the accounts server (emulator), and of one store read. */
  refreshRttMs?: number;
  storeRttMs?: number;
  note?: string;
}

/** How each store's waiting processes learn that the refresh lock was released. */
const WAKE: Record<string, string> = {
  'SQLite file (FULL)': 'polling, pauses ≤ 25 ms (no cross-process notification)',
  PostgreSQL: 'LISTEN/NOTIFY',
  'MySQL (MariaDB)': 'polling, pauses ≤ 25 ms (no notifications)',
  Redis: 'pub/sub',
};

/** Milliseconds as the table and the chart print them. */
const fmtMs = (value: number): string => value.toFixed(1);

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

async function storeOps(store: TokenStore, ids: string[]): Promise<Required<Pick<Row, 'byId' | 'byUser' | 'update'>>> {
  const pick = (i: number): number => (i * 7919) % SIZE;
  const byId = await measure(SAMPLES, (i) => store.findTokenById(ids[pick(i)]!));
  const byUser = await measure(SAMPLES, (i) =>
    store.findToken(new OAuthToken({ ...CLIENT, userSignature: `user${1 + pick(i)}@example.com` })),
  );
  const update = await measure(SAMPLES, (i) =>
    store.saveToken(
      new OAuthToken({ id: ids[pick(i)]!, accessToken: `1000.new-access-${i}`, expiresAt: 1_767_229_200_000 + i }),
    ),
  );
  return { byId, byUser, update };
}

/**
 * Median ms from "go" (the token already expired) to the last of WORKERS × CALLERS callers served,
 * and the same with the token still fresh (a store read per caller, no refresh: the floor).
 * Each round prepares a new ZohoAuth in every worker, so no cache survives a round.
 */
async function coordination(
  emu: ZohoEmulator,
  fleet: Fleet,
  store: TokenStore,
  spec: FleetStoreSpec,
  user: string,
): Promise<Pick<Row, 'refreshMs' | 'freshMs' | 'servedMs' | 'freshServedMs' | 'refreshRttMs' | 'note'>> {
  const auth = new ZohoAuth({ store, environment: emu.environment, ...CLIENT, clock: emu.clock });
  const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user, scopes: SCOPES });
  const id = (await auth.exchangeGrantToken(code, { user })).id!;
  const task: FleetTask = { store: spec, environment: emu.environment, ...CLIENT, user, calls: CALLERS };
  const refresh: number[] = [];
  const served: number[] = [];
  const fresh: number[] = [];
  const freshServed: number[] = [];
  // The physical floor of one refresh: a refresh request's round trip, measured in this run.
  const refreshToken = (await store.findTokenById(id))?.refreshToken;
  const rtt: number[] = [];
  for (let i = 0; refreshToken && i < RTT_SAMPLES; i++) {
    const t0 = performance.now();
    await refreshAccessToken(emu.environment, CLIENT, refreshToken);
    rtt.push(performance.now() - t0);
  }
  const problems = new Set<string>();
  for (let round = 0; round <= ROUNDS; round++) {
    await store.saveToken(new OAuthToken({ id, expiresAt: Date.now() - 60_000 }));
    await fleet.prepare(task);
    const before = emu.stats().refreshRequests;
    const { results, ms } = await fleet.go();
    const refreshes = emu.stats().refreshRequests - before;
    const tokens = new Set(results.flatMap((r) => r.tokens));
    if (refreshes !== 1) problems.add(`${refreshes} refreshes in a round`);
    if (tokens.size !== 1) problems.add(`${tokens.size} distinct tokens in a round`);
    for (const error of results.flatMap((r) => r.errors)) problems.add(error);
    if (round > 0) {
      refresh.push(ms);
      served.push(Math.max(...results.map((r) => r.ms)));
    }
  }
  for (let round = 0; round <= ROUNDS; round++) {
    await fleet.prepare(task);
    const { results, ms } = await fleet.go();
    if (round > 0) {
      fresh.push(ms);
      freshServed.push(Math.max(...results.map((r) => r.ms)));
    }
  }
  return {
    refreshMs: median(refresh),
    servedMs: median(served),
    freshMs: median(fresh),
    freshServedMs: median(freshServed),
    ...(rtt.length > 0 ? { refreshRttMs: median(rtt) } : {}),
    ...(problems.size > 0 ? { note: [...problems].join('; ') } : {}),
  };
}

/** The official TypeScript SDK's DBStore on its own database and official table, at SIZE tokens. */
async function officialDbStore(): Promise<Row> {
  const name = 'Official TypeScript SDK DBStore (MySQL, a connection per operation)';
  const label = 'official SDK DBStore (MySQL)';
  const database = `zts_fleet_sdk_${process.pid}`;
  const { default: mysql } = await import('mysql2/promise');
  const admin = await mysql.createConnection({ uri: MYSQL_URL });
  try {
    await admin.query(`CREATE DATABASE \`${database}\``);
    // The SDK's own DDL (its README): no index but the primary key.
    await admin.query(
      `CREATE TABLE \`${database}\`.oauthtoken (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), ` +
        'client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), ' +
        'expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), primary key (id))',
    );
    for (let start = 1; start <= SIZE; start += 1000) {
      const rows = Array.from({ length: Math.min(1000, SIZE - start + 1) }, (_, k) => {
        const t = token(start + k);
        return [
          String(start + k),
          t.userName,
          t.clientId,
          t.clientSecret,
          t.refreshToken,
          t.accessToken,
          t.grantToken,
          String(t.expiresAt),
          t.redirectUrl,
          t.apiDomain,
        ];
      });
      await admin.query(`INSERT INTO \`${database}\`.oauthtoken VALUES ?`, [rows]);
    }
    const sdk = await import('@zohocrm/typescript-sdk-8.0');
    const store = new sdk.DBBuilder()
      .host('127.0.0.1')
      .portNumber(3306)
      .userName('root')
      .password('')
      .databaseName(database)
      .tableName('oauthtoken')
      .build();
    const pick = (i: number): number => 1 + ((i * 7919) % SIZE);
    const byUserToken = (i: number) =>
      new sdk.OAuthToken(
        CLIENT.clientId,
        CLIENT.clientSecret,
        null,
        null,
        null,
        null,
        null,
        new sdk.UserSignature(`user${pick(i)}@example.com`),
      );
    const byId = await measure(SDK_SAMPLES, (i) => store.findTokenById(String(pick(i))));
    const byUser = await measure(SDK_SAMPLES, (i) => store.findToken(byUserToken(i)));
    const update = await measure(SDK_SAMPLES, (i) => {
      const t = byUserToken(i);
      t.setAccessToken(`1000.new-access-${i}`);
      t.setExpiresIn(String(1_767_229_200_000 + i));
      return store.saveToken(t);
    });
    return {
      name,
      label,
      byId,
      byUser,
      update,
      note: 'no lock and no single flight: every caller of an expired token refreshes (200 callers → 200 requests)',
    };
  } catch (error) {
    return {
      name,
      label,
      note: `could not be driven (${String(error)}); reference figure, not measured here: about 1–2 ms per operation, a new connection each time`,
    };
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => undefined);
    await admin.end();
  }
}

/** The chart: one panel per measure, a bar per store that has it. */
function fleetChart(rows: Row[]): NonNullable<SectionResult['chart']> {
  const panel = (title: string, unit: 'µs' | 'ms', value: (row: Row) => number | undefined): Panel => ({
    title,
    unit,
    ...(unit === 'ms' ? { format: fmtMs } : {}),
    bars: rows.flatMap((row) => {
      const v = value(row);
      return v === undefined ? [] : [{ label: row.label, value: v }];
    }),
  });
  return {
    title: `Fleet: server stores at ${SIZE.toLocaleString('en-US')} stored tokens, and one refresh across ${WORKERS} processes (shorter is faster)`,
    panels: [
      panel('findTokenById, median', 'µs', (r) => r.byId?.medianUs),
      panel('findToken by user, median', 'µs', (r) => r.byUser?.medianUs),
      panel('saveToken update, median', 'µs', (r) => r.update?.medianUs),
      panel(
        `Expired token → all ${WORKERS * CALLERS} callers served (${WORKERS} processes × ${CALLERS}), median of ${ROUNDS} rounds`,
        'ms',
        (r) => r.refreshMs,
      ),
      panel(
        `Token fresh → all ${WORKERS * CALLERS} callers served (the floor: a store read each)`,
        'ms',
        (r) => r.freshMs,
      ),
    ],
  };
}

export async function fleetBench(): Promise<SectionResult> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'zts-bench-fleet-'));
  // Many timed rounds refresh one refresh token: lift Zoho's 10-per-10-minutes limit for the bench.
  const emu = await startZohoEmulator({ clients: [CLIENT], limits: { mintsPerWindow: 1_000_000 } });
  const fleet = await Fleet.start(WORKERS);
  const rows: Row[] = [];
  const all = targets(dir);
  // Filling is not measured, and mostly waits on the servers' disks: fill every store at once.
  const opened = await Promise.allSettled(all.map((target) => target.open()));
  try {
    for (const [n, target] of all.entries()) {
      const ready = opened[n]!;
      if (ready.status === 'rejected') {
        rows.push({ name: target.name, label: target.label, note: `failed: ${String(ready.reason)}` });
        continue;
      }
      const { store, ids } = ready.value;
      try {
        const ops = await storeOps(store, ids);
        const coord = await coordination(emu, fleet, store, target.spec, `fleet-bench-${n}@example.com`);
        rows.push({ name: target.name, label: target.label, ...ops, ...coord, storeRttMs: ops.byId.medianUs / 1000 });
      } catch (error) {
        rows.push({ name: target.name, label: target.label, note: `failed: ${String(error)}` });
      } finally {
        await store.close();
      }
    }
    rows.push(await officialDbStore());
  } finally {
    await Promise.all(all.map((target) => target.drop().catch(() => undefined)));
    await fleet.close();
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const us = (s: Summary | undefined): string => (s === undefined ? '—' : `${fmt(s.medianUs)} / ${fmt(s.p99Us)}`);
  const ms = (v: number | undefined): string => (v === undefined ? '—' : fmtMs(v));
  const out = [
    '## Fleet: server stores, and one refresh across processes',
    '',
    `Store operations at ${SIZE.toLocaleString('en-US')} stored tokens: median / p99 in µs (${SAMPLES} samples, ${SDK_SAMPLES} for the official DBStore), one at a time. ` +
      `Refresh: ${WORKERS} processes × ${CALLERS} concurrent \`getAccessToken({ user })\` callers on one expired token, every process on its own ZohoAuth and store connections, ` +
      `all released together; ms from the release to the last caller served (median of ${ROUNDS} rounds; exactly one refresh request reaches the emulator per round). ` +
      '"Token fresh" is the same with an unexpired token (one store read per caller, no refresh): the floor.',
    '',
    '| store | findTokenById | findToken by user | saveToken update | expiry → 200 callers served (ms) | token fresh (ms) |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${us(r.byId)} | ${us(r.byUser)} | ${us(r.update)} | ${ms(r.refreshMs)} | ${ms(r.freshMs)} |`,
    ),
    '',
    `Wake-up: the slowest worker's own time from "go" to its last caller served after the expiry (median of ${ROUNDS} rounds; no process start, pipe or close in it), ` +
      `beside the physical cost of one refresh measured in the same run: the refresh round trip (median of ${RTT_SAMPLES} direct refresh requests to the emulator) ` +
      'and the store round trip (findTokenById median above). Ratio: served ÷ 2 × (refresh RTT + store RTT); goal ≤ 1. ' +
      '"Fresh" is the same worker time with the token still fresh (no lock, no refresh: 25 concurrent reads per process), the floor of the machine at that moment; ' +
      '"coordination ratio" counts only the time above that floor: (served − fresh) ÷ 2 × (refresh RTT + store RTT).',
    '',
    '| store | waiters learn of the release by | expiry → all served (ms) | fresh (ms) | refresh RTT (ms) | store RTT (ms) | ratio | coordination ratio |',
    '|---|---|---|---|---|---|---|---|',
    ...rows
      .filter((r) => r.servedMs !== undefined)
      .map((r) => {
        const floor =
          r.refreshRttMs === undefined || r.storeRttMs === undefined ? undefined : 2 * (r.refreshRttMs + r.storeRttMs);
        const ratio = (value: number | undefined): string =>
          floor === undefined || value === undefined ? '—' : (value / floor).toFixed(2);
        const above =
          r.servedMs === undefined || r.freshServedMs === undefined ? undefined : r.servedMs - r.freshServedMs;
        const cells = [
          r.name,
          WAKE[r.label] ?? '—',
          ms(r.servedMs),
          ms(r.freshServedMs),
          r.refreshRttMs === undefined ? '—' : r.refreshRttMs.toFixed(2),
          r.storeRttMs === undefined ? '—' : r.storeRttMs.toFixed(2),
          ratio(r.servedMs),
          ratio(above),
        ];
        return `| ${cells.join(' | ')} |`;
      }),
    '',
    ...rows.filter((r) => r.note !== undefined).map((r) => `- ${r.name}: ${r.note}`),
    '',
    `(fleet bench: ${((performance.now() - started) / 1000).toFixed(0)} s; load average at the end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} on ${cpus().length} cores)`,
    '',
  ];
  return { markdown: out.join('\n'), chart: fleetChart(rows) };
}
