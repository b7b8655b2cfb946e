// Operator conventions of the built zoho-tokens bin: confirmation of destructive commands (a real
// pseudo-terminal through util-linux `script`), `--yes` / `--dry-run`, list filters, the coloured
// status column and NO_COLOR, and the shell completion scripts (checked by the shells themselves).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OAuthToken, SqliteStore } from 'zoho-token-store';
import { startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { BIN, ensureBuilt } from './helpers/built-bin.js';
import { tempDir } from './helpers/temp.js';

const CLIENT_A = '1000.CONVENTIONSCLIENTAAAAAAAAAAAA';
const CLIENT_B = '1000.CONVENTIONSCLIENTBBBBBBBBBBBB';
const CLIENT_SECRET = 'c0nv5ecre7c0nv5ecre7c0nv5ecre7c0nv5ecre7';
const HOUR = 3_600_000;
const ESC = '\u001b';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const dir = tempDir('cli-conv');
let dbCount = 0;
const has = (program: string): boolean => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
const noScript = has('script') ? false : 'util-linux "script" is not installed (no pseudo-terminal)';

function env(extra: Record<string, string> = {}): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith('ZOHO_') && key !== 'NO_COLOR' && key !== 'FORCE_COLOR')
      base[key] = value;
  return { ...base, TERM: 'xterm-256color', ...extra };
}

/** Runs a program to its end, `input` written to its stdin; async so the in-process emulator can answer. */
function runProgram(file: string, args: string[], input: string, extra: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: dir, env: env(extra), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** The bin with pipes: neither stdin, stdout nor stderr is a terminal. */
function cli(args: string[], extra: Record<string, string> = {}): Promise<Run> {
  return runProgram(process.execPath, [BIN, ...args], '', extra);
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The bin on a pseudo-terminal (stdin, stdout and stderr), `input` typed into it. The terminal
 * merges stdout and stderr; `2>` redirects stderr to a file when only stdout may be a TTY.
 */
async function tty(args: string[], input: string, extra: Record<string, string> = {}, redirect = ''): Promise<Run> {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ') + redirect;
  const run = await runProgram('script', ['-qec', command, '/dev/null'], input, extra);
  // The terminal turns \n into \r\n.
  return { ...run, stdout: run.stdout.replace(/\r\n/g, '\n') };
}

function assertExit(run: Run, code: number): void {
  assert.equal(run.code, code, `exit code ${run.code}, expected ${code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
}

/** Six tokens, one or more of every status; returns the file and the ids by name. */
async function seed(): Promise<{ db: string; ids: Record<string, string> }> {
  const db = join(dir, `tokens-${++dbCount}.db`);
  const store = new SqliteStore({ filename: db });
  const now = Date.now();
  const rows: [string, string, string, Partial<ConstructorParameters<typeof OAuthToken>[0]>][] = [
    ['alice', 'alice@example.com', CLIENT_A, { accessToken: 'access-alice-a', expiresAt: now + 2 * HOUR }],
    ['bob', 'bob@example.com', CLIENT_A, { accessToken: 'access-bob', expiresAt: now + 120_000 }],
    ['carol', 'Carol@Example.com', CLIENT_B, { accessToken: 'access-carol', expiresAt: now - HOUR }],
    ['dave', 'dave@example.com', CLIENT_A, {}],
    ['erin', 'erin@example.com', CLIENT_B, { refreshToken: null, accessToken: 'access-erin', expiresAt: now - HOUR }],
    ['alice-b', 'alice@example.com', CLIENT_B, { accessToken: 'access-alice-b', expiresAt: now + 2 * HOUR }],
  ];
  const ids: Record<string, string> = {};
  try {
    for (const [name, user, clientId, fields] of rows) {
      await store.saveToken(
        new OAuthToken({
          userSignature: user,
          clientId,
          clientSecret: CLIENT_SECRET,
          // Unique: a refresh token names its row.
          refreshToken: `refresh-${name}-secret`,
          ...fields,
        }),
      );
    }
    const saved = await store.getTokens();
    for (const [name, user, clientId] of rows)
      ids[name] = saved.find((t) => t.userName === user && t.clientId === clientId)!.id!;
  } finally {
    await store.close();
  }
  return { db, ids };
}

/** Every stored token, field for field, by id. */
async function snapshot(db: string): Promise<unknown[]> {
  const store = new SqliteStore({ filename: db });
  try {
    return (await store.getTokens()).map((t) => t.toInit()).sort((a, b) => Number(a.id) - Number(b.id));
  } finally {
    await store.close();
  }
}

async function storedIds(db: string): Promise<string[]> {
  return ((await snapshot(db)) as { id: string }[]).map((t) => t.id);
}

function listedIds(run: Run): string[] {
  assertExit(run, 0);
  return (JSON.parse(run.stdout) as { tokens: { id: string }[] }).tokens.map((t) => t.id);
}

before(() => ensureBuilt());

describe('zoho-tokens: destructive commands ask on a terminal and need --yes elsewhere', () => {
  it('without a terminal, purge, delete and revoke refuse without --yes (exit 2) and change nothing', async () => {
    const { db, ids } = await seed();
    const before = await snapshot(db);
    for (const args of [
      ['purge', '--dead'],
      ['delete', ids['erin']!],
      ['revoke', ids['alice']!],
      ['delete', '--user', 'bob@example.com'],
    ]) {
      const run = await cli(['--store', `sqlite:${db}`, ...args]);
      assertExit(run, 2);
      assert.equal(run.stdout, '', args.join(' '));
      assert.equal(
        run.stderr,
        `error: ${args[0]} changes the store and there is no terminal to confirm on: pass --yes (or --dry-run to see what it would do) (USAGE)\n`,
      );
    }
    assert.deepEqual(await snapshot(db), before);
  });

  it('--dry-run shows what would happen without --yes and changes nothing', async () => {
    const { db, ids } = await seed();
    const before = await snapshot(db);
    const at = ['--store', `sqlite:${db}`];
    const del = await cli([...at, 'delete', ids['erin']!, '--dry-run']);
    assertExit(del, 0);
    assert.equal(
      del.stdout,
      `Would delete token ${ids['erin']} (erin@example.com) from the store (dry run, nothing deleted).\n`,
    );
    const revoke = await cli([...at, 'revoke', '--user', 'bob@example.com', '--dry-run', '--json']);
    assertExit(revoke, 0);
    assert.deepEqual(JSON.parse(revoke.stdout), {
      id: ids['bob'],
      user: 'bob@example.com',
      clientId: CLIENT_A,
      dryRun: true,
      revokedAtZoho: false,
      deleted: false,
    });
    const purge = await cli([...at, 'purge', '--dead', '--dry-run']);
    assertExit(purge, 0);
    assert.match(purge.stdout, /^Would delete 1 token dead \(dry run, nothing deleted\):\n/);
    assert.deepEqual(await snapshot(db), before);
  });

  it('--yes deletes without asking, on a terminal too', { skip: noScript }, async () => {
    const { db, ids } = await seed();
    const run = await tty(['--store', `sqlite:${db}`, 'delete', ids['erin']!, '--yes'], '');
    assertExit(run, 0);
    assert.doesNotMatch(run.stdout, /Proceed\?/);
    assert.match(run.stdout, new RegExp(`Deleted token ${ids['erin']} \\(erin@example\\.com\\) from the store\\.`));
    assert.deepEqual(
      await storedIds(db),
      Object.values(ids).filter((id) => id !== ids['erin']),
    );
  });

  it(
    'purge on a terminal lists the tokens and asks; "n" or Enter cancels (exit 7), "y" deletes exactly them',
    { skip: noScript },
    async () => {
      const { db, ids } = await seed();
      const before = await snapshot(db);
      const args = ['--store', `sqlite:${db}`, 'purge', '--dead'];
      // Ctrl+D (end of input) cancels too, instead of leaving the question pending.
      for (const answer of ['n\n', '\n', 'no\n', 'yess\n', '\u0004']) {
        const run = await tty(args, answer);
        assertExit(run, 7);
        assert.match(run.stdout, /Delete 1 token dead from the store \(Zoho is not told\)\?\n/);
        assert.match(run.stdout, /\nID +USER +CLIENT +DATA CENTER +EXPIRES IN +STATUS\n/);
        assert.match(run.stdout, new RegExp(`\\n${ids['erin']} +erin@example\\.com +${CLIENT_B} .* login required\\n`));
        assert.match(run.stdout, /Proceed\? \[y\/N\] /);
        assert.match(run.stdout, /error: cancelled: nothing was changed \(CANCELLED\)\n$/);
        assert.doesNotMatch(run.stdout, /refresh-[\w-]+-secret|access-erin|c0nv5ecre7/);
        assert.deepEqual(await snapshot(db), before, JSON.stringify(answer));
      }
      const yes = await tty(args, 'Y\n');
      assertExit(yes, 0);
      assert.match(yes.stdout, /Deleted 1 token dead:\n/);
      assert.deepEqual(
        await storedIds(db),
        Object.values(ids).filter((id) => id !== ids['erin']),
      );
      // Nothing left to purge: nothing to ask.
      const none = await tty(args, '');
      assertExit(none, 0);
      assert.doesNotMatch(none.stdout, /Proceed\?/);
      assert.match(none.stdout, /No token matches \(dead\)\./);
    },
  );

  it(
    'delete on a terminal names the token and asks; "n" keeps it, "yes" deletes only it',
    { skip: noScript },
    async () => {
      const { db, ids } = await seed();
      const before = await snapshot(db);
      const args = ['--store', `sqlite:${db}`, 'delete', '--user', 'Carol@Example.com'];
      const no = await tty(args, 'n\n');
      assertExit(no, 7);
      assert.match(
        no.stdout,
        new RegExp(
          `Delete token ${ids['carol']} \\(Carol@Example\\.com\\) from the store \\(Zoho is not told\\)\\?\\n`,
        ),
      );
      assert.deepEqual(await snapshot(db), before);
      const yes = await tty(args, 'yes\n');
      assertExit(yes, 0);
      assert.match(
        yes.stdout,
        new RegExp(`Deleted token ${ids['carol']} \\(Carol@Example\\.com\\) from the store\\.\\n`),
      );
      assert.deepEqual(
        await storedIds(db),
        Object.values(ids).filter((id) => id !== ids['carol']),
      );
    },
  );

  describe('revoke against the emulator', () => {
    let emu: ZohoEmulator;
    before(async () => {
      emu = await startZohoEmulator({
        clients: [{ clientId: CLIENT_A, clientSecret: CLIENT_SECRET, redirectUris: [] }],
      });
    });
    after(() => emu?.close());

    it('asks on a terminal; "n" sends nothing to Zoho, "y" revokes and deletes', { skip: noScript }, async () => {
      const db = join(dir, `tokens-${++dbCount}.db`);
      const at = ['--store', `sqlite:${db}`, '--dc', `custom:${emu.url},${emu.url}`];
      const code = await emu.createGrantCode({
        clientId: CLIENT_A,
        user: 'alice@example.com',
        scopes: ['ZohoCRM.users.READ'],
      });
      assertExit(
        await cli([...at, 'login', '--code', code, '--user', 'alice@example.com'], {
          ZOHO_CLIENT_ID: CLIENT_A,
          ZOHO_CLIENT_SECRET: CLIENT_SECRET,
        }),
        0,
      );
      const before = await snapshot(db);
      const requests = emu.stats().revokeRequests;
      const no = await tty([...at, 'revoke', '1'], 'n\n');
      assertExit(no, 7);
      assert.match(no.stdout, /Revoke token 1 \(alice@example\.com\) at Zoho and delete it from the store\?\n/);
      assert.equal(emu.stats().revokeRequests, requests);
      assert.deepEqual(await snapshot(db), before);
      const yes = await tty([...at, 'revoke', '1'], 'y\n');
      assertExit(yes, 0);
      assert.match(yes.stdout, /Revoked token 1 \(alice@example\.com\) at Zoho and deleted it from the store\.\n/);
      assert.equal(emu.stats().revokeSuccesses, 1);
      assert.deepEqual(await storedIds(db), []);
    });
  });
});

describe('zoho-tokens list: filters', () => {
  it('--user, --client-id, --status and --limit select by value, combine with AND, and --json honours them', async () => {
    const { db, ids } = await seed();
    const list = async (...args: string[]): Promise<string[]> =>
      listedIds(await cli(['--store', `sqlite:${db}`, 'list', '--json', ...args]));
    const idsOf = (...names: string[]): string[] => names.map((n) => ids[n]!);
    assert.deepEqual(await list(), idsOf('alice', 'bob', 'carol', 'dave', 'erin', 'alice-b'));
    assert.deepEqual(await list('--status', 'valid'), idsOf('alice', 'bob', 'alice-b'));
    assert.deepEqual(await list('--status', 'expired'), idsOf('carol', 'dave'));
    assert.deepEqual(await list('--status', 'dead'), idsOf('erin'));
    assert.deepEqual(await list('--user', 'alice@example.com'), idsOf('alice', 'alice-b'));
    assert.deepEqual(await list('--user', 'carol@example.com'), idsOf('carol'));
    assert.deepEqual(await list('--client-id', CLIENT_B), idsOf('carol', 'erin', 'alice-b'));
    assert.deepEqual(await list('--client', CLIENT_B), idsOf('carol', 'erin', 'alice-b'));
    assert.deepEqual(await list('--user', 'ALICE@example.com', '--client-id', CLIENT_B), idsOf('alice-b'));
    assert.deepEqual(await list('--status', 'valid', '--client-id', CLIENT_A), idsOf('alice', 'bob'));
    assert.deepEqual(await list('--status', 'valid', '--limit', '2'), idsOf('alice', 'bob'));
    assert.deepEqual(await list('--limit', '1'), idsOf('alice'));
    assert.deepEqual(await list('--user', 'nobody@example.com'), []);

    const human = await cli(['--store', `sqlite:${db}`, 'list', '--status', 'dead']);
    assertExit(human, 0);
    const [header, row, ...rest] = human.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID +USER +CLIENT +DATA CENTER +EXPIRES IN +STATUS$/);
    assert.match(row!, new RegExp(`^${ids['erin']} +erin@example\\.com +${CLIENT_B} .* login required$`));
    assert.deepEqual(rest, []);
    const none = await cli(['--store', `sqlite:${db}`, 'list', '--user', 'nobody@example.com']);
    assertExit(none, 0);
    assert.equal(none.stdout, 'No token matches the filters.\n');
  });

  it('an unknown status or a limit that is not a positive integer is a usage error', async () => {
    const { db } = await seed();
    for (const [args, message] of [
      [
        ['--status', 'expiring'],
        /option '--status <status>' argument 'expiring' is invalid\. Allowed choices are valid, expired, dead\./,
      ],
      [['--limit', '0'], /option '--limit <n>' argument '0' is invalid\. expected a positive integer/],
      [['--limit', '2x'], /argument '2x' is invalid/],
    ] as const) {
      const run = await cli(['--store', `sqlite:${db}`, 'list', ...args]);
      assertExit(run, 2);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, '');
    }
  });
});

describe('zoho-tokens list: the coloured status column', () => {
  const COLOURS: Record<string, string> = {
    valid: '32',
    expiring: '33',
    expired: '33',
    'no access token': '33',
    'login required': '31',
  };

  it('on a terminal only the status cells are coloured, and the columns stay aligned', { skip: noScript }, async () => {
    const { db } = await seed();
    const run = await tty(['--store', `sqlite:${db}`, 'list'], '');
    assertExit(run, 0);
    const [header, ...rows] = run.stdout.trimEnd().split('\n');
    assert.ok(!header!.includes(ESC), header);
    const statusAt = header!.indexOf('STATUS');
    assert.equal(rows.length, 6);
    const seen = new Set<string>();
    for (const row of rows) {
      const match = new RegExp(`^([^${ESC}]*)${ESC}\\[(\\d+)m([a-z ]+)${ESC}\\[39m$`).exec(row);
      assert.ok(match, JSON.stringify(row));
      const [, before, colour, status] = match;
      assert.equal(before!.length, statusAt, `the status column starts under STATUS: ${JSON.stringify(row)}`);
      assert.equal(colour, COLOURS[status!], status);
      seen.add(status!);
    }
    assert.deepEqual([...seen].sort(), Object.keys(COLOURS).sort());
  });

  it('no colour with NO_COLOR set, TERM=dumb, --json, or stdout not a terminal', { skip: noScript }, async () => {
    const { db } = await seed();
    const at = ['--store', `sqlite:${db}`];
    for (const [args, extra] of [
      [['list'], { NO_COLOR: '1' }],
      [['list'], { NO_COLOR: 'false' }],
      [['list'], { TERM: 'dumb' }],
      [['list', '--json'], {}],
    ] as const) {
      const run = await tty([...at, ...args], '', extra);
      assertExit(run, 0);
      assert.ok(!run.stdout.includes(ESC), `${JSON.stringify(extra)}: ${JSON.stringify(run.stdout)}`);
      assert.match(run.stdout, /login required/);
    }
    // NO_COLOR="" does not count as set (no-color.org): colour stays.
    assert.ok((await tty([...at, 'list'], '', { NO_COLOR: '' })).stdout.includes(`${ESC}[31mlogin required`));
    const piped = await cli([...at, 'list']);
    assertExit(piped, 0);
    assert.ok(!piped.stdout.includes(ESC));
    // stdout a terminal, stderr not: still coloured (it is stdout that is read).
    assert.ok((await tty([...at, 'list'], '', {}, ' 2>/dev/null')).stdout.includes(`${ESC}[32mvalid`));
  });
});

describe('zoho-tokens completion', () => {
  const commandsInHelp = async (): Promise<string[]> => {
    const help = (await cli(['--help'])).stdout;
    const section = help.slice(help.indexOf('Commands:'));
    return [...section.matchAll(/^ {2}([a-z-]+)(?:\|([a-z-]+))?/gm)]
      .flatMap((m) => m.slice(1).filter((x): x is string => x !== undefined))
      .filter((c) => c !== 'help');
  };

  /** The script as `zoho-tokens completion <shell>` prints it, saved to a file. */
  const scriptFile = async (shell: string): Promise<string> => {
    const run = await cli(['completion', shell]);
    assertExit(run, 0);
    const file = join(dir, `completion.${shell}`);
    writeFileSync(file, run.stdout);
    return file;
  };

  it('bash: valid syntax, and it completes commands, options and option values', async (t) => {
    if (!has('bash')) return t.skip('bash is not installed');
    const file = await scriptFile('bash');
    const check = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    const complete = (...words: string[]): string[] => {
      const array = words.map(shellQuote).join(' ');
      const run = spawnSync(
        'bash',
        [
          '-c',
          `source ${shellQuote(file)}; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _zoho_tokens; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(run.status, 0, run.stderr);
      return run.stdout.split('\n').filter((w) => w !== '');
    };
    assert.deepEqual(complete('zoho-tokens', 'li'), ['list']);
    assert.deepEqual(complete('zoho-tokens', 'p'), ['purge']);
    assert.deepEqual(complete('zoho-tokens', '--store', 'x.db', 'purge', '--d'), ['--dc', '--dry-run', '--dead']);
    assert.deepEqual(complete('zoho-tokens', 'list', '--status', ''), ['valid', 'expired', 'dead']);
    assert.deepEqual(complete('zoho-tokens', 'ls', '--l'), ['--limit']);
    assert.deepEqual(complete('zoho-tokens', 'completion', ''), ['bash', 'zsh', 'fish', '-h', '--help']);
    // Every command of the program is offered: the script is generated from it.
    const commands = await commandsInHelp();
    assert.ok(commands.includes('completion') && commands.includes('ls'), commands.join(' '));
    assert.deepEqual(
      complete('zoho-tokens', '').filter((w) => !w.startsWith('-')),
      commands,
    );
  });

  it('zsh: valid syntax, and sourcing it after compinit registers the function', async (t) => {
    if (!has('zsh')) return t.skip('zsh is not installed (apt-get install zsh)');
    const file = await scriptFile('zsh');
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^#compdef zoho-tokens\n/);
    const check = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    const run = spawnSync(
      'zsh',
      [
        '-fc',
        `autoload -U compinit && compinit -u -d ${shellQuote(join(dir, 'zcompdump'))} && source ${shellQuote(file)} && print -r -- $_comps[zoho-tokens]`,
      ],
      { encoding: 'utf8', env: env({ HOME: dir }) },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, '_zoho_tokens\n');
    for (const command of await commandsInHelp()) assert.ok(text.includes(`    '${command}:`), command);
  });

  it('fish: valid syntax, and `complete -C` offers commands and option values', async (t) => {
    if (!has('fish')) return t.skip('fish is not installed (apt-get install fish)');
    const file = await scriptFile('fish');
    const check = spawnSync('fish', ['-n', file], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    const complete = (line: string): string[] => {
      const run = spawnSync('fish', ['-c', `source ${shellQuote(file)}; complete -C ${shellQuote(line)}`], {
        encoding: 'utf8',
        env: env({ HOME: dir }),
      });
      assert.equal(run.status, 0, run.stderr);
      return run.stdout
        .split('\n')
        .filter((w) => w !== '')
        .map((w) => w.split('\t')[0]!);
    };
    assert.deepEqual(complete('zoho-tokens li'), ['list']);
    assert.deepEqual(complete('zoho-tokens list --status ').sort(), ['dead', 'expired', 'valid']);
    assert.ok(complete('zoho-tokens revoke --').includes('--yes'));
  });

  it('an unknown shell is a usage error', async () => {
    const run = await cli(['completion', 'tcsh']);
    assertExit(run, 2);
    assert.match(run.stderr, /value 'tcsh' is invalid for argument 'shell'\. Allowed choices are bash, zsh, fish\./);
  });
});
