/**
 * The CLI at scale: `zoho-tokens list --json` and `list` over SQLite stores of 10,000 and 100,000
 * tokens, run as a child process (the built bin when `dist/` exists, else the source through tsx),
 * with its wall time and peak memory (max RSS, from GNU time). Also checks that no stored secret
 * reaches the output.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from 'zoho-token-store';
import { benchToken } from './fixtures.js';
import { fmtRate } from './measure.js';

interface Run {
  readonly seconds: number;
  readonly maxRssMb: number;
  /** CPU time of the CLI process itself (user + system), in seconds. */
  readonly cpuSeconds: number;
  readonly stdout: string;
}

const BIN = new URL('../dist/cli/main.js', import.meta.url);
const SOURCE = new URL('../src/cli/main.ts', import.meta.url);

/** What runs: the built bin, or the source through tsx when there is no build. */
export const CLI_ENTRY = existsSync(BIN) ? 'dist/cli/main.js' : 'source through tsx';

/** Runs the CLI under GNU time (`%M`: max RSS in KiB, `%e`: seconds, `%U` + `%S`: CPU seconds). */
export function runCli(args: readonly string[]): Promise<Run> {
  const entry = existsSync(BIN)
    ? [BIN.pathname]
    : ['--conditions=zoho-token-store-source', '--import', 'tsx', SOURCE.pathname];
  const child = spawn('/usr/bin/time', ['-f', 'TIME %e %M %U %S', process.execPath, ...entry, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const match = /TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
      if (code !== 0 || !match) return reject(new Error(`zoho-tokens ${args.join(' ')} failed (${code}): ${stderr}`));
      resolve({
        seconds: Number(match[1]),
        maxRssMb: Number(match[2]) / 1024,
        cpuSeconds: Number(match[3]) + Number(match[4]),
        stdout,
      });
    });
  });
}

/** A SQLite file of `count` bench tokens, saved 1,000 at a time. */
export async function fill(filename: string, count: number): Promise<void> {
  const store = new SqliteStore({ filename, synchronous: 'NORMAL' });
  try {
    for (let i = 1; i <= count; i += 1000) {
      await store.saveTokens(Array.from({ length: Math.min(1000, count - i + 1) }, (_, j) => benchToken(i + j)));
    }
  } finally {
    await store.close();
  }
}

export async function cliBench(sizes: readonly number[] = [10_000, 100_000]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'zts-bench-cli-'));
  const lines = [
    '## CLI at scale',
    '',
    `\`zoho-tokens --store sqlite:… list\` as a child process (${CLI_ENTRY}); wall time and max RSS from GNU time.`,
    '',
    '| tokens | command | wall time | tokens/s | max RSS | secrets in output |',
    '|---:|---|---:|---:|---:|---:|',
  ];
  try {
    for (const size of sizes) {
      const filename = join(dir, `list-${size}.db`);
      await fill(filename, size);
      for (const args of [['list', '--json'], ['list']]) {
        const run = await runCli(['--store', `sqlite:${filename}`, ...args]);
        const rows = args.includes('--json')
          ? (JSON.parse(run.stdout) as { tokens: unknown[] }).tokens.length
          : run.stdout.trimEnd().split('\n').length - 1;
        if (rows !== size) throw new Error(`list printed ${rows} tokens of ${size}`);
        // Every 97th token's secrets, looked for verbatim: the redaction must hold at any size.
        let leaked = 0;
        for (let i = 1; i <= size; i += 97) {
          const t = benchToken(i);
          for (const secret of [t.refreshToken, t.accessToken, t.grantToken, t.clientSecret]) {
            if (secret && run.stdout.includes(secret)) leaked++;
          }
        }
        lines.push(
          `| ${size.toLocaleString('en-US')} | \`${args.join(' ')}\` | ${run.seconds.toFixed(2)} s | ${fmtRate(size / run.seconds)} | ${run.maxRssMb.toFixed(0)} MB | ${leaked} |`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return `${lines.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await cliBench());
