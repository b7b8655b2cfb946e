/**
 * Store benchmark: findTokenById, findToken (by user, by refresh token), saveToken insert and
 * update, at several stored-token counts. Every operation goes through the public store API.
 * SqliteStore runs on every SQLite driver this runtime has, each beside a raw prepared-statement
 * lookup by id on the same driver and table (the floor `findTokenById` is measured against).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, OAuthToken, SqliteStore, type TokenStore } from 'zoho-token-store';
import type { SqliteDatabase, SqliteDriverName } from 'zoho-token-store';
import { BENCH_CLIENT, benchToken } from './fixtures.js';
import { fmt, fmtRate, measure, type Summary } from './measure.js';
import type { SectionResult } from './section.js';
import type { Bar } from './svg-chart.js';

const CLIENT = BENCH_CLIENT;
const SAMPLES = 2_000;
const WRITES = 2_000;
const require = createRequire(import.meta.url);

const token = (i: number): OAuthToken => benchToken(i);

interface Opened {
  store: TokenStore;
  /** The same row as `findTokenById`, read by a bare prepared statement on the store's own database. */
  raw?: (id: string) => unknown;
  /** Closes what the store does not (a database passed to it). */
  dispose?(): void;
}

interface Target {
  name: string;
  /** The name on the chart, where space is short. */
  label: string;
  /** A store holding `size` tokens with ids 1..size, ready to measure. */
  open(size: number): Promise<Opened>;
  cleanup?(): void;
}

async function fill(store: TokenStore, size: number): Promise<void> {
  for (let i = 1; i <= size; i++) await store.saveToken(token(i));
}

interface NativeDatabase extends SqliteDatabase {
  prepare(sql: string): { get(...params: unknown[]): unknown };
}

/** Opens `filename` with the driver's own API (for the raw lookup); `undefined` where it does not load. */
function nativeOpener(driver: SqliteDriverName): ((filename: string) => NativeDatabase) | undefined {
  try {
    if (driver === 'node:sqlite') {
      const sqlite = process.getBuiltinModule?.('node:sqlite') as
        { DatabaseSync: new (path: string) => NativeDatabase } | undefined;
      return sqlite && ((filename) => new sqlite.DatabaseSync(filename));
    }
    const Database = require('better-sqlite3') as new (filename: string) => NativeDatabase;
    new Database(':memory:').close();
    return (filename) => new Database(filename);
  } catch {
    return undefined;
  }
}

const BY_ID =
  'SELECT id, user_name, client_id, client_secret, refresh_token, access_token, grant_token, expiry_time, ' +
  'redirect_url, api_domain, accounts_url FROM oauthtoken WHERE id = ?';

/** The store over a database we opened, and a raw lookup on that same database. */
function withRaw(db: NativeDatabase, options: { synchronous?: 'NORMAL' | 'FULL' } = {}): Opened {
  const store = new SqliteStore({ database: db, ...options });
  const byId = db.prepare(BY_ID);
  return { store, raw: (id) => byId.get(id), dispose: () => void db.close() };
}

function sqliteTargets(dir: string): Target[] {
  const targets: Target[] = [];
  for (const driver of ['node:sqlite', 'better-sqlite3'] as const) {
    const open = nativeOpener(driver);
    if (open === undefined) continue;
    targets.push(
      {
        name: `SqliteStore (:memory:, ${driver})`,
        label: `SQLite :memory: (${driver})`,
        open: async (size) => {
          const opened = withRaw(open(':memory:'));
          await fill(opened.store, size);
          return opened;
        },
      },
      {
        name: `SqliteStore (file, synchronous=FULL, the default, ${driver})`,
        label: `SQLite file, FULL (${driver})`,
        open: async (size) => {
          const filename = join(dir, `bench-${driver}-${size}.db`);
          // Filling is not what is measured: fill without fsync, then reopen with the defaults.
          const filler = new SqliteStore({ filename, driver, synchronous: 'NORMAL' });
          await fill(filler, size);
          await filler.close();
          return withRaw(open(filename));
        },
      },
      {
        name: `SqliteStore (file, synchronous=NORMAL, ${driver})`,
        label: `SQLite file, NORMAL (${driver})`,
        open: async (size) => {
          const opened = withRaw(open(join(dir, `bench-normal-${driver}-${size}.db`)), { synchronous: 'NORMAL' });
          await fill(opened.store, size);
          return opened;
        },
      },
    );
  }
  return targets;
}

function targets(): Target[] {
  const dir = mkdtempSync(join(tmpdir(), 'zts-bench-'));
  const sqlite = sqliteTargets(dir);
  const last = sqlite.at(-1);
  if (last) last.cleanup = () => rmSync(dir, { recursive: true, force: true });
  return [
    {
      name: 'MemoryStore',
      label: 'MemoryStore',
      open: async (size) => {
        const store = new MemoryStore();
        await fill(store, size);
        return { store };
      },
    },
    ...sqlite,
  ];
}

type Row = [operation: string, results: Summary[]];

export async function storesBench(sizes: number[]): Promise<SectionResult> {
  const out: string[] = [
    '## Stores',
    '',
    `Per operation: median / p99 latency in µs (${SAMPLES} samples each), and operations per second for saves. "100 at once": 100 concurrent saves per round, time per save. SqliteStore runs on each SQLite driver this runtime has (${process.version}); "raw lookup by id" is a bare prepared \`SELECT … WHERE id = ?\` on the same driver and table, and "findTokenById ÷ raw" the ratio of their medians.`,
    '',
  ];
  // The chart: one panel per operation, a bar per store, at the largest size.
  const largest = sizes.indexOf(Math.max(...sizes));
  const panels = new Map<string, Bar[]>();
  for (const target of targets()) {
    const rows: Row[] = [
      ['findTokenById', []],
      ['findToken by user', []],
      ['findToken by refresh token', []],
      ['saveToken insert', []],
      ['saveToken update (a refresh)', []],
      ['saveToken insert, 100 at once', []],
    ];
    const rawRow: Row = ['raw lookup by id (same driver)', []];
    const ratios: string[] = [];
    for (const size of sizes) {
      const { store, raw, dispose } = await target.open(size);
      const pick = (i: number): number => 1 + ((i * 7919) % size);
      rows[0]![1].push(await measure(SAMPLES, (i) => store.findTokenById(String(pick(i)))));
      if (raw) {
        // Awaited like the store's call, so the ratio compares the work, not the harness.
        const floor = await measure(SAMPLES, async (i) => raw(String(pick(i))));
        rawRow[1].push(floor);
        ratios.push(`${(rows[0]![1].at(-1)!.medianUs / floor.medianUs).toFixed(2)}×`);
      }
      rows[1]![1].push(
        await measure(SAMPLES, (i) =>
          store.findToken(new OAuthToken({ ...CLIENT, userSignature: `user${pick(i)}@example.com` })),
        ),
      );
      rows[2]![1].push(
        await measure(SAMPLES, (i) =>
          store.findToken(new OAuthToken({ ...CLIENT, refreshToken: token(pick(i)).refreshToken })),
        ),
      );
      rows[3]![1].push(await measure(WRITES, (i) => store.saveToken(token(size + 1 + i))));
      rows[4]![1].push(
        await measure(WRITES, (i) =>
          store.saveToken(
            new OAuthToken({
              id: String(pick(i)),
              accessToken: `1000.new-access-${i}`,
              expiresAt: 1_767_229_200_000 + i,
            }),
          ),
        ),
      );
      const batch = await measure(WRITES / 100, (b) =>
        Promise.all(Array.from({ length: 100 }, (_, j) => store.saveToken(token(size + WRITES + 1 + b * 100 + j)))),
      );
      rows[5]![1].push({ medianUs: batch.medianUs / 100, p99Us: batch.p99Us / 100, opsPerSec: batch.opsPerSec * 100 });
      await store.close();
      dispose?.();
    }
    out.push(
      `### ${target.name}`,
      '',
      `| operation | ${sizes.map((s) => `${s.toLocaleString('en-US')} tokens`).join(' | ')} |`,
      `|---|${sizes.map(() => '---|').join('')}`,
    );
    for (const [name, results] of rawRow[1].length > 0 ? [rows[0]!, rawRow, ...rows.slice(1)] : rows) {
      const isSave = name.startsWith('save');
      out.push(
        `| ${name} | ${results.map((r) => `${fmt(r.medianUs)} / ${fmt(r.p99Us)}${isSave ? ` (${fmtRate(r.opsPerSec)}/s)` : ''}`).join(' | ')} |`,
      );
    }
    if (ratios.length > 0) out.push(`| findTokenById ÷ raw | ${ratios.join(' | ')} |`);
    out.push('');
    for (const [name, results] of rows) {
      const bars = panels.get(name) ?? [];
      bars.push({ label: target.label, value: results[largest]!.medianUs });
      panels.set(name, bars);
    }
    target.cleanup?.();
  }
  return {
    markdown: out.join('\n'),
    chart: {
      title: `Stores: median latency per operation at ${sizes[largest]!.toLocaleString('en-US')} stored tokens (shorter is faster)`,
      panels: [...panels].map(([name, bars]) => ({ title: name, unit: 'µs', bars })),
    },
  };
}
