/**
 * `zoho-tokens migrate` at scale: SQLite stores of 10,000 and 100,000 tokens copied to PostgreSQL,
 * MariaDB and Redis, each run a child process (the built bin when `dist/` exists, else the source
 * through tsx) under GNU time: wall time (start-up, the check pass, the copy and its verification
 * all included), tokens/s and max RSS. Every run writes to its own table or key prefix on the shared
 * servers and removes it afterwards; nothing else is touched (no FLUSHDB).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fill, runCli, CLI_ENTRY } from './cli.js';
import { fmtRate } from './measure.js';

interface Target {
  readonly name: string;
  readonly url: (tag: string) => string;
  readonly cleanUp: (tag: string) => Promise<void>;
}

const TARGETS: readonly Target[] = [
  {
    name: 'PostgreSQL',
    url: (tag) => `postgres://postgres@127.0.0.1:5432/test?table=${tag}`,
    cleanUp: async (tag) => {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
      await client.connect();
      try {
        await client.query(`DROP TABLE IF EXISTS "${tag}", "${tag}_meta", "${tag}_lock"`);
      } finally {
        await client.end();
      }
    },
  },
  {
    name: 'MariaDB',
    url: (tag) => `mysql://root@127.0.0.1:3306/test?table=${tag}`,
    cleanUp: async (tag) => {
      const mysql = await import('mysql2/promise');
      const connection = await mysql.createConnection({ host: '127.0.0.1', user: 'root', database: 'test' });
      try {
        await connection.query(`DROP TABLE IF EXISTS \`${tag}\`, \`${tag}_meta\`, \`${tag}_lock\``);
      } finally {
        await connection.end();
      }
    },
  },
  {
    name: 'Redis',
    url: (tag) => `redis://127.0.0.1:6379/0?prefix=${tag}%3A`,
    cleanUp: async (tag) => {
      const { Redis } = await import('ioredis');
      const redis = new Redis('redis://127.0.0.1:6379/0');
      try {
        // Only this run's keys, found by their prefix: never a FLUSHDB on the shared server.
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${tag}:*`, 'COUNT', 1000);
          if (keys.length > 0) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  },
];

export async function migrateBench(sizes: readonly number[] = [10_000, 100_000]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'zts-bench-migrate-'));
  const lines = [
    '## CLI migrate (`npm run bench -- --only migrate`)',
    '',
    `\`zoho-tokens migrate --from sqlite:… --to <url> --json\` as a child process (${CLI_ENTRY}), default batch size (500); wall time and max RSS from GNU time; the target table or prefix is new and empty.`,
    '',
    '| tokens | target | wall time | tokens/s | CPU time of the CLI | max RSS |',
    '|---:|---|---:|---:|---:|---:|',
  ];
  try {
    for (const size of sizes) {
      const source = join(dir, `source-${size}.db`);
      await fill(source, size);
      for (const target of TARGETS) {
        const tag = `zts_bench_migrate_${process.pid}_${size}`;
        await target.cleanUp(tag);
        try {
          const run = await runCli(['migrate', '--from', `sqlite:${source}`, '--to', target.url(tag), '--json']);
          const report = JSON.parse(run.stdout) as { created: number; verified: number };
          if (report.created !== size || report.verified !== size) {
            throw new Error(
              `migrate to ${target.name} copied ${report.created} and verified ${report.verified} of ${size}`,
            );
          }
          lines.push(
            `| ${size.toLocaleString('en-US')} | ${target.name} | ${run.seconds.toFixed(2)} s | ${fmtRate(size / run.seconds)} | ${run.cpuSeconds.toFixed(2)} s | ${run.maxRssMb.toFixed(0)} MB |`,
          );
        } finally {
          await target.cleanUp(tag);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return `${lines.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await migrateBench());
