// `zoho-tokens migrate` as an operator runs it: the BUILT bin, SQLite files in a temp dir, pages
// smaller than the store so every run spans several of them; the progress line through a real
// pseudo-terminal (util-linux `script`), and its absence with pipes and with --json; a run that
// stops half-way and the rerun that finishes it without duplicates.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { OAuthToken, SqliteStore } from 'zoho-token-store';
import { BIN, ensureBuilt } from './helpers/built-bin.js';
import { tempDir } from './helpers/temp.js';

const CLIENT_ID = '1000.MIGRATECLIENTAAAAAAAAAAAAAAAAA';
const CLIENT_SECRET = 'm1gr8secre7m1gr8secre7m1gr8secre7m1gr8se';
const ESC = '\u001b';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const dir = tempDir('cli-migrate');
let dbCount = 0;
const has = (program: string): boolean => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
const noScript = has('script') ? false : 'util-linux "script" is not installed (no pseudo-terminal)';

function env(): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith('ZOHO_')) base[key] = value;
  return { ...base, TERM: 'xterm-256color' };
}

function runProgram(file: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The bin with pipes: stderr is not a terminal. */
function cli(args: string[]): Promise<Run> {
  return runProgram(process.execPath, [BIN, ...args]);
}

const shellQuote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

/** The bin on a pseudo-terminal; `redirect` (e.g. ` 2>/dev/null`) takes stderr off it. */
async function tty(args: string[], redirect = ''): Promise<Run> {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ') + redirect;
  const run = await runProgram('script', ['-qec', command, '/dev/null']);
  return { ...run, stdout: run.stdout.replace(/\r\n/g, '\n') };
}

function assertExit(run: Run, code: number): void {
  assert.equal(run.code, code, `exit code ${run.code}, expected ${code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
}

function newDb(): string {
  return join(dir, `tokens-${++dbCount}.db`);
}

function token(i: number): OAuthToken {
  return new OAuthToken({
    userSignature: `user${i}@example.com`,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    refreshToken: `1000.refresh-${i}-secret`,
    accessToken: `1000.access-${i}-secret`,
    expiresAt: 1_800_000_000_000 + i,
    apiDomain: 'https://www.zohoapis.eu',
    accountsUrl: 'https://accounts.zoho.eu',
  });
}

/** A SQLite store holding `count` tokens (ids 1…count). */
async function seed(count: number): Promise<string> {
  const db = newDb();
  const store = new SqliteStore({ filename: db });
  try {
    await store.saveTokens(Array.from({ length: count }, (_, i) => token(i + 1)));
  } finally {
    await store.close();
  }
  return db;
}

async function rows(db: string): Promise<unknown[]> {
  const store = new SqliteStore({ filename: db });
  try {
    return (await store.getTokens()).map((t) => t.toInit()).sort((a, b) => Number(a.id) - Number(b.id));
  } finally {
    await store.close();
  }
}

before(() => ensureBuilt());

describe('zoho-tokens migrate: streaming, batched, resumable', () => {
  it('copies a store over several pages; a rerun finds every token unchanged', async () => {
    const from = await seed(25);
    const to = newDb();
    const run = await cli(['migrate', '--from', `sqlite:${from}`, '--to', `sqlite:${to}`, '--batch-size', '7']);
    assertExit(run, 0);
    assert.equal(
      run.stdout,
      `Read 25 tokens from sqlite:${from}.\nWrote 25 new, 0 updated, 0 unchanged to sqlite:${to}.\nVerified 25/25 tokens in the target.\n`,
    );
    assert.equal(run.stderr, '', 'no progress line when stderr is not a terminal');
    assert.deepEqual(await rows(to), await rows(from));
    const rerun = await cli(['migrate', '--from', `sqlite:${from}`, '--to', `sqlite:${to}`, '--batch-size', '3']);
    assertExit(rerun, 0);
    assert.match(rerun.stdout, /^Read 25 tokens .*\nWrote 0 new, 0 updated, 25 unchanged to .*\nVerified 25\/25 /);
  });

  it('a run stopped half-way by a failure, fixed and run again, finishes without duplicates', async () => {
    const from = await seed(20);
    const to = newDb();
    // The target holds a token whose refresh token is source token 15's, under id 500: saving
    // token 15 conflicts, so the run stops there. Pages go in id order as strings (1, 10, 11, …,
    // 15 is the 7th), so one page of 4 and tokens 13 and 14 of the next are written before it.
    const blocker = new SqliteStore({ filename: to });
    await blocker.saveToken(
      new OAuthToken({ ...token(15).toInit(), id: '500', userSignature: 'someone-else@example.com' }),
    );
    await blocker.close();
    const stopped = await cli(['migrate', '--from', `sqlite:${from}`, '--to', `sqlite:${to}`, '--batch-size', '4']);
    assertExit(stopped, 5);
    assert.equal(stopped.stdout, '');
    assert.match(
      stopped.stderr,
      /^error: writing token 15 failed after 6 of 20 \(.*TOKEN_CONFLICT\); the source is unchanged, fix the cause and rerun \(MIGRATION_FAILED\)\n$/,
    );
    assert.doesNotMatch(stopped.stderr, /refresh-15-secret|m1gr8secre7/);
    assert.deepEqual(
      (await rows(to)).map((t) => (t as { id: string }).id),
      ['1', '10', '11', '12', '13', '14', '500'],
      'the tokens before the failure are in the target',
    );

    const fix = new SqliteStore({ filename: to });
    await fix.deleteToken('500');
    await fix.close();
    const resumed = await cli(['migrate', '--from', `sqlite:${from}`, '--to', `sqlite:${to}`, '--json']);
    assertExit(resumed, 0);
    assert.deepEqual(JSON.parse(resumed.stdout), {
      from: `sqlite:${from}`,
      to: `sqlite:${to}`,
      read: 20,
      created: 14,
      updated: 0,
      unchanged: 6,
      verified: 20,
    });
    assert.deepEqual(await rows(to), await rows(from));
  });

  it('refuses a batch size that is not an integer of 1 to 10000', async () => {
    const from = await seed(1);
    for (const size of ['0', '10001', '1.5', 'x', '-3']) {
      const run = await cli(['migrate', '--from', `sqlite:${from}`, '--to', `sqlite:${newDb()}`, '--batch-size', size]);
      assertExit(run, 2);
      assert.equal(run.stderr, 'error: --batch-size must be an integer of 1 to 10000 (USAGE)\n');
    }
  });

  it('draws a progress line (count, rate, ETA) on a terminal, and none with --json', { skip: noScript }, async () => {
    const from = await seed(12);
    const to = newDb();
    const run = await tty(['migrate', '--from', `sqlite:${from}`, '--to', `sqlite:${to}`, '--batch-size', '5']);
    assertExit(run, 0);
    const out = run.stdout;
    assert.ok(out.includes(`\r${ESC}[KCopied 0/12 tokens (0%)`), JSON.stringify(out));
    assert.match(out, new RegExp(`\\r${ESC}\\[KCopied 12/12 tokens \\(100%\\), [0-9]+ tokens/s, ETA 0s`));
    // The line is erased before the result, which starts on a clean line.
    assert.ok(out.includes(`ETA 0s\r${ESC}[KRead 12 tokens from sqlite:${from}.\n`), JSON.stringify(out));
    assert.ok(out.endsWith('Verified 12/12 tokens in the target.\n'));

    const json = await tty(['migrate', '--from', `sqlite:${from}`, '--to', `sqlite:${newDb()}`, '--json']);
    assertExit(json, 0);
    assert.doesNotMatch(json.stdout, /Copied|\r(?!\n)/);
    assert.ok(!json.stdout.includes(ESC), 'no escape sequence');
    assert.equal(JSON.parse(json.stdout).created, 12);

    // stdout on the terminal, stderr not: no progress line either.
    const piped = await tty(['migrate', '--from', `sqlite:${from}`, '--to', `sqlite:${newDb()}`], ' 2>/dev/null');
    assertExit(piped, 0);
    assert.doesNotMatch(piped.stdout, /Copied/);
    assert.match(piped.stdout, /^Read 12 tokens/);
  });
});
