/**
 * Store benchmark: findTokenById, findToken (by user, by refresh token), saveToken insert and
 * update, at several stored-token counts. Every operation goes through the public store API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, OAuthToken, SqliteStore, type TokenStore } from 'zoho-token-store';
import { BENCH_CLIENT, benchToken } from './fixtures.js';
import { fmt, fmtRate, measure, type Summary } from './measure.js';

const CLIENT = BENCH_CLIENT;
const SAMPLES = 2_000;
const WRITES = 2_000;

const token = (i: number): OAuthToken => benchToken(i);

interface Target {
  name: string;
  /** A store holding `size` tokens with ids 1..size, ready to measure. */
  open(size: number): Promise<TokenStore>;
  cleanup?(): void;
}

async function fill(store: TokenStore, size: number): Promise<void> {
  for (let i = 1; i <= size; i++) await store.saveToken(token(i));
}

function targets(): Target[] {
  const dir = mkdtempSync(join(tmpdir(), 'zts-bench-'));
  return [
    {
      name: 'MemoryStore',
      open: async (size) => {
        const s = new MemoryStore();
        await fill(s, size);
        return s;
      },
    },
    {
      name: 'SqliteStore (:memory:)',
      open: async (size) => {
        const s = new SqliteStore({ filename: ':memory:' });
        await fill(s, size);
        return s;
      },
    },
    {
      name: 'SqliteStore (file, synchronous=FULL, the default)',
      open: async (size) => {
        const filename = join(dir, `bench-${size}.db`);
        // Filling is not what is measured: fill without fsync, then reopen with the defaults.
        const filler = new SqliteStore({ filename, synchronous: 'NORMAL' });
        await fill(filler, size);
        await filler.close();
        return new SqliteStore({ filename });
      },
    },
    {
      name: 'SqliteStore (file, synchronous=NORMAL)',
      open: async (size) => {
        const filename = join(dir, `bench-normal-${size}.db`);
        const store = new SqliteStore({ filename, synchronous: 'NORMAL' });
        await fill(store, size);
        return store;
      },
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    },
  ];
}

type Row = [operation: string, results: Summary[]];

export async function storesBench(sizes: number[]): Promise<string> {
  const out: string[] = [
    '## Stores',
    '',
    `Per operation: median / p99 latency in µs (${SAMPLES} samples each), and operations per second for saves. "100 at once": 100 concurrent saves per round, time per save.`,
    '',
  ];
  for (const target of targets()) {
    const rows: Row[] = [
      ['findTokenById', []],
      ['findToken by user', []],
      ['findToken by refresh token', []],
      ['saveToken insert', []],
      ['saveToken update (a refresh)', []],
      ['saveToken insert, 100 at once', []],
    ];
    for (const size of sizes) {
      const store = await target.open(size);
      const pick = (i: number): number => 1 + ((i * 7919) % size);
      rows[0]![1].push(await measure(SAMPLES, (i) => store.findTokenById(String(pick(i)))));
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
    }
    out.push(
      `### ${target.name}`,
      '',
      `| operation | ${sizes.map((s) => `${s.toLocaleString('en-US')} tokens`).join(' | ')} |`,
      `|---|${sizes.map(() => '---|').join('')}`,
    );
    for (const [name, results] of rows) {
      const isSave = name.startsWith('save');
      out.push(
        `| ${name} | ${results.map((r) => `${fmt(r.medianUs)} / ${fmt(r.p99Us)}${isSave ? ` (${fmtRate(r.opsPerSec)}/s)` : ''}`).join(' | ')} |`,
      );
    }
    out.push('');
    target.cleanup?.();
  }
  return out.join('\n');
}
