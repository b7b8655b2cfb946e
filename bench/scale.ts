/**
 * Scale benchmark (issue 16 item 4): each server store and SQLite grown to 10k, 100k and 1M tokens
 * (one row per connected user), measuring the lookups a running application makes — by id, by user,
 * by refresh token — and a save (a refresh: the row updated by id), with the process's RSS.
 * Loading is not done through the store (a million saves would take most of an hour): SQL rows go in
 * as multi-row INSERTs in the store's own column format, on a table the store created; Redis, whose
 * key layout belongs to the store, is filled by the store's own saves, many in flight on one
 * connection (ioredis pipelines them). Every table and key is the bench's own and removed after.
 * MemoryStore and FileStore, which hold everything in the process, stop at 100k.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, OAuthToken, SqliteStore, type SqliteDatabase, type TokenStore } from 'zoho-token-store';
import { FileStore } from 'zoho-token-store/file';
import type { Pool as PgPool } from 'pg';
import type { Pool as MySqlPool } from 'mysql2/promise';
import type { Redis } from 'ioredis';
import { mergeRecord } from '../src/stores/kit/matching.js';
import { COLUMNS, recordToRow } from '../src/stores/kit/columns.js';
import { BENCH_CLIENT, benchToken } from './fixtures.js';
import { fmt, fmtRate, measure, type Summary } from './measure.js';
import type { SectionResult } from './section.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
// A MariaDB of its own (ZTS_SCALE_MYSQL_URL), e.g. with a buffer pool that holds a million tokens.
const MYSQL_URL = process.env['ZTS_SCALE_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/test';
// A Redis of its own (ZTS_SCALE_REDIS_URL) measures Redis without the shared server's other clients.
const REDIS_URL = process.env['ZTS_SCALE_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
/** Where MemoryStore and FileStore stop: they hold every token in the process. */
const IN_PROCESS_LIMIT = 100_000;
const SAMPLES = 2_000;
const require = createRequire(import.meta.url);
const NAME = `zts_scale_${process.pid}`;

/** The stored row of bench token `i`, with id `i`. */
const rowOf = (i: number): (string | null)[] => recordToRow({ ...mergeRecord(null, benchToken(i)), id: String(i) });

interface Backend {
  name: string;
  /** Only sizes up to this many tokens. */
  limit?: number;
  /** Saves measured per size, when fewer than the lookups' (slow saves). */
  saves?: number;
  /** Opens the (empty) store, its schema created. */
  open(): Promise<TokenStore>;
  /** Adds tokens `from`..`to` (ids too), as fast as the backend allows. */
  load(store: TokenStore, from: number, to: number): Promise<void>;
  /** Removes every table, file or key it made. */
  drop(): Promise<void>;
  /** Where the data lives, if the bench can size it (a file). */
  size?(): string;
}

/** Runs `insert` on batches of `batch` consecutive token numbers. */
async function inBatches(
  from: number,
  to: number,
  batch: number,
  insert: (rows: (string | null)[][]) => Promise<void>,
) {
  for (let start = from; start <= to; start += batch) {
    const rows: (string | null)[][] = [];
    for (let i = start; i <= Math.min(to, start + batch - 1); i++) rows.push(rowOf(i));
    await insert(rows);
  }
}

/** Splits `from`..`to` into `parts` ranges and runs `load` on them at once. */
async function inParallel(from: number, to: number, parts: number, load: (a: number, b: number) => Promise<void>) {
  const step = Math.ceil((to - from + 1) / parts);
  const ranges: Promise<void>[] = [];
  for (let a = from; a <= to; a += step) ranges.push(load(a, Math.min(to, a + step - 1)));
  await Promise.all(ranges);
}

/** Saves tokens `from`..`to` through the store, `inFlight` at a time. */
async function saveAll(store: TokenStore, from: number, to: number, inFlight: number): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i <= to; i = next++) await store.saveToken(benchToken(i));
    }),
  );
}

/** better-sqlite3's Database: what the store takes, and prepared inserts for the load. */
interface BulkDatabase extends SqliteDatabase {
  prepare(sql: string): { run(...values: unknown[]): unknown };
}

function sqliteBackend(dir: string): Backend {
  const filename = join(dir, 'scale.db');
  let db: BulkDatabase | undefined;
  return {
    name: 'SqliteStore (file, better-sqlite3)',
    open: async () => {
      mkdirSync(dir, { recursive: true });
      const Database = require('better-sqlite3') as new (filename: string) => BulkDatabase;
      db = new Database(filename);
      const store = new SqliteStore({ database: db });
      await store.ready();
      return store;
    },
    load: async (_store, from, to) => {
      const per = 500;
      const insert = db!.prepare(
        `INSERT INTO oauthtoken (${COLUMNS.join(', ')}) VALUES ${Array.from({ length: per }, () => `(${COLUMNS.map(() => '?').join(', ')})`).join(', ')}`,
      );
      const one = db!.prepare(
        `INSERT INTO oauthtoken (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
      );
      db!.exec('BEGIN');
      await inBatches(from, to, per, async (rows) => {
        if (rows.length === per) insert.run(...rows.flat());
        else for (const row of rows) one.run(...row);
      });
      db!.exec('COMMIT');
    },
    drop: async () => {
      db?.close();
      rmSync(dir, { recursive: true, force: true });
    },
    size: () => `${(statSync(filename).size / 2 ** 20).toFixed(0)} MiB file`,
  };
}

function postgresBackend(): Backend {
  let admin: PgPool | undefined;
  return {
    name: 'PostgresStore (PostgreSQL 15)',
    open: async () => {
      const pg = (await import('pg')).default;
      admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
      const { PostgresStore } = await import('zoho-token-store/postgres');
      const store = new PostgresStore({ url: PG_URL, table: NAME });
      await store.ready();
      return store;
    },
    load: async (_store, from, to) => {
      const per = 1000;
      await inBatches(from, to, per, async (rows) => {
        const values = rows.map((_, r) => `(${COLUMNS.map((_, c) => `$${r * COLUMNS.length + c + 1}`).join(', ')})`);
        await admin!.query(`INSERT INTO "${NAME}" (${COLUMNS.join(', ')}) VALUES ${values.join(', ')}`, rows.flat());
      });
      // Fresh statistics, as autovacuum would give a long-lived table.
      await admin!.query(`ANALYZE "${NAME}"`);
    },
    drop: async () => {
      await admin?.query(`DROP TABLE IF EXISTS "${NAME}", "${NAME}_meta", "${NAME}_lock" CASCADE`);
      await admin?.end();
    },
  };
}

function mysqlBackend(): Backend {
  let admin: MySqlPool | undefined;
  return {
    name: 'MySqlStore (MariaDB)',
    open: async () => {
      const mysql = (await import('mysql2/promise')).default;
      admin = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2 });
      const { MySqlStore } = await import('zoho-token-store/mysql');
      const store = new MySqlStore({ url: MYSQL_URL, table: NAME });
      await store.ready();
      return store;
    },
    load: async (_store, from, to) => {
      await inBatches(from, to, 2000, async (rows) => {
        await admin!.query(`INSERT INTO \`${NAME}\` (${COLUMNS.join(', ')}) VALUES ?`, [rows]);
      });
      await admin!.query(`ANALYZE TABLE \`${NAME}\``);
    },
    drop: async () => {
      await admin?.query(`DROP TABLE IF EXISTS \`${NAME}\`, \`${NAME}_meta\`, \`${NAME}_lock\``);
      await admin?.end();
    },
  };
}

/**
 * Pipelined writes of the key layout RedisStore documents (docs/stores/redis.md): the token hash,
 * its index keys, the id set, the id and revision counters. The lookups measured afterwards check
 * that the store finds every token it is asked for, so a layout that drifted fails loudly here.
 */
function redisBackend(): Backend {
  const prefix = `zts-scale:${process.pid}:`;
  let client: Redis | undefined;
  const indexKey = (name: string, value: string): string =>
    `${prefix}idx:${name}:${createHash('sha256').update(value, 'utf8').digest('hex')}`;
  return {
    name: 'RedisStore (Redis 7)',
    open: async () => {
      const { Redis } = await import('ioredis');
      client = new Redis(REDIS_URL);
      const { RedisStore } = await import('zoho-token-store/redis');
      return new RedisStore({ url: REDIS_URL, prefix });
    },
    // Four pipelines in flight, so the round trips overlap.
    load: (_store, from, to) =>
      inParallel(from, to, 4, (a, b) =>
        inBatches(a, b, 1000, async (rows) => {
          const first = Number(await client!.incrby(`${prefix}revision`, rows.length)) - rows.length;
          const pipeline = client!.pipeline();
          rows.forEach((row, r) => {
            const [id, userName, , , refresh, access, grant] = row as string[];
            const fields: string[] = ['revision', String(first + r + 1)];
            row.forEach((value, c) => value !== null && fields.push(COLUMNS[c]!, value));
            pipeline.hset(`${prefix}token:${id}`, ...fields);
            pipeline.set(indexKey('refresh', refresh!), id!);
            pipeline.set(indexKey('grant', grant!), id!);
            pipeline.sadd(indexKey('access', access!), id!);
            pipeline.sadd(indexKey('user', userName!), id!);
          });
          pipeline.sadd(`${prefix}ids`, ...rows.map((row) => row[0]!));
          pipeline.set(`${prefix}last-id`, rows.at(-1)![0]!);
          for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
        }),
      ),
    drop: async () => {
      // Our prefix only, by SCAN: the shared server is never flushed.
      client ??= new (await import('ioredis')).Redis(REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
        if (keys.length > 0) await client.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
      await client.quit();
    },
    size: () => '',
  };
}

function memoryBackend(): Backend {
  return {
    name: 'MemoryStore',
    limit: IN_PROCESS_LIMIT,
    open: async () => new MemoryStore(),
    load: (store, from, to) => saveAll(store, from, to, 1),
    drop: async () => {},
  };
}

function fileBackend(dir: string): Backend {
  const file = join(dir, 'sdk_tokens.txt');
  return {
    name: 'FileStore',
    limit: IN_PROCESS_LIMIT,
    // Each save rewrites or appends to the file under its lock: tens of ms each.
    saves: 200,
    open: async () => {
      mkdirSync(dir, { recursive: true });
      return new FileStore({ filename: file });
    },
    // Filled by its own saves, many in flight (the file is its own format).
    load: (store, from, to) => saveAll(store, from, to, 1000),
    drop: async () => rmSync(dir, { recursive: true, force: true }),
    size: () => `${(statSync(file).size / 2 ** 20).toFixed(1)} MiB file`,
  };
}

interface Figures {
  size: number;
  loadSeconds: number;
  loadRate: number;
  byId: Summary;
  byUser: Summary;
  byRefresh: Summary;
  save: Summary;
  rssMiB: number;
  where: string;
}

/** A lookup must find token `i`: a bulk load the store cannot read would otherwise measure misses. */
function expect(found: OAuthToken | null, i: number): void {
  if (found?.id !== String(i)) throw new Error(`the store did not find token ${i} (found ${found?.id ?? 'nothing'})`);
}

/** The four measured operations on a store holding tokens 1..size. */
async function measureAt(
  store: TokenStore,
  size: number,
  saves: number,
): Promise<Pick<Figures, 'byId' | 'byUser' | 'byRefresh' | 'save'>> {
  // Spread over the whole table, so a large table is not measured on a few hot pages only.
  const pick = (i: number): number => 1 + ((i * 7919 + 13) % size);
  const byId = await measure(SAMPLES, async (i) => expect(await store.findTokenById(String(pick(i))), pick(i)));
  const byUser = await measure(SAMPLES, async (i) =>
    expect(
      await store.findToken(new OAuthToken({ ...BENCH_CLIENT, userSignature: `user${pick(i + 1)}@example.com` })),
      pick(i + 1),
    ),
  );
  const byRefresh = await measure(SAMPLES, async (i) =>
    expect(
      await store.findToken(new OAuthToken({ ...BENCH_CLIENT, refreshToken: benchToken(pick(i + 2)).refreshToken })),
      pick(i + 2),
    ),
  );
  const save = await measure(saves, (i) =>
    store.saveToken(
      new OAuthToken({
        id: String(pick(i + 3)),
        accessToken: `1000.scale-access-${size}-${i}`,
        expiresAt: 1_767_229_200_000 + i,
      }),
    ),
  );
  return { byId, byUser, byRefresh, save };
}

const rssMiB = (): number => process.memoryUsage().rss / 2 ** 20;

async function run(backend: Backend, sizes: number[], log: (line: string) => void): Promise<Figures[]> {
  const figures: Figures[] = [];
  const store = await backend.open();
  try {
    let loaded = 0;
    for (const size of sizes.filter((s) => s <= (backend.limit ?? Infinity))) {
      const started = process.hrtime.bigint();
      await backend.load(store, loaded + 1, size);
      const loadSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const added = size - loaded;
      loaded = size;
      log(
        `${backend.name}: ${size.toLocaleString('en-US')} tokens loaded (${added.toLocaleString('en-US')} in ${loadSeconds.toFixed(1)} s)`,
      );
      const ops = await measureAt(store, size, backend.saves ?? SAMPLES);
      figures.push({
        size,
        loadSeconds,
        loadRate: added / loadSeconds,
        ...ops,
        rssMiB: rssMiB(),
        where: backend.size?.() ?? '',
      });
    }
  } finally {
    await store.close();
    await backend.drop();
  }
  return figures;
}

const cell = (s: Summary): string => `${fmt(s.medianUs)} / ${fmt(s.p99Us)}`;
const growth = (a: Summary, b: Summary): string => `${(b.medianUs / a.medianUs).toFixed(2)}×`;

/** `only`: run the stores whose name contains one of these words (case-insensitive). */
export async function scaleBench(only?: string[], sizes = [10_000, 100_000, 1_000_000]): Promise<SectionResult> {
  const dir = mkdtempSync(join(tmpdir(), 'zts-scale-'));
  const backends = [
    sqliteBackend(join(dir, 'sqlite')),
    postgresBackend(),
    mysqlBackend(),
    redisBackend(),
    memoryBackend(),
    fileBackend(join(dir, 'file')),
  ];
  const out: string[] = [
    '## Scale: 10k, 100k and 1M tokens',
    '',
    `Per operation: median / p99 latency in µs over ${SAMPLES.toLocaleString('en-US')} operations on tokens spread over the whole table; "save" is a refresh (the row updated by id). "growth" is the median at the largest size ÷ the median at 10k. RSS is this process's resident memory after measuring at that size. Load: SQL tables by multi-row INSERTs (the store's column format, on the table it created), Redis by pipelines of the store's documented key layout (every measured lookup checks that the store finds the token it asked for), MemoryStore and FileStore by the store's own saves.`,
    '',
  ];
  try {
    for (const backend of backends) {
      if (only !== undefined && !only.some((word) => backend.name.toLowerCase().includes(word.toLowerCase()))) {
        await backend.drop();
        continue;
      }
      const started = Date.now();
      const figures = await run(backend, sizes, (line) => console.error(line));
      const first = figures[0]!;
      const last = figures.at(-1)!;
      out.push(
        `### ${backend.name}`,
        '',
        `| | ${figures.map((f) => `${f.size.toLocaleString('en-US')} tokens`).join(' | ')} | growth |`,
        `|---|${figures.map(() => '---|').join('')}---|`,
        `| load (tokens/s) | ${figures.map((f) => `${fmtRate(f.loadRate)} (${f.loadSeconds.toFixed(1)} s)`).join(' | ')} | |`,
        `| findTokenById | ${figures.map((f) => cell(f.byId)).join(' | ')} | ${growth(first.byId, last.byId)} |`,
        `| findToken by user | ${figures.map((f) => cell(f.byUser)).join(' | ')} | ${growth(first.byUser, last.byUser)} |`,
        `| findToken by refresh token | ${figures.map((f) => cell(f.byRefresh)).join(' | ')} | ${growth(first.byRefresh, last.byRefresh)} |`,
        `| saveToken (a refresh) | ${figures.map((f) => cell(f.save)).join(' | ')} | ${growth(first.save, last.save)} |`,
        `| RSS (MiB) | ${figures.map((f) => f.rssMiB.toFixed(0)).join(' | ')} | |`,
        ...(figures.some((f) => f.where) ? [`| data | ${figures.map((f) => f.where).join(' | ')} | |`] : []),
        '',
        `Whole run of this store (load, measure, drop): ${((Date.now() - started) / 1000).toFixed(0)} s.`,
        '',
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { markdown: out.join('\n') };
}
