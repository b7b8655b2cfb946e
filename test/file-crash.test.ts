/**
 * Crash safety: a child process saving in a loop is SIGKILLed at random moments, over and over.
 * After every kill the token file and its journal must parse and hold every save the child had
 * acknowledged; at the end, once folded, the token file alone must hold them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, it } from 'node:test';
import ts from 'typescript';
import { parseTokenFile } from '../src/stores/file/file-format.js';
import { decodeJournal } from '../src/stores/file/file-journal.js';
import type { TokenRecord } from '../src/token/token-record.js';
import { FileStore } from '../src/stores/file/file-store.js';
import { tempDir } from './helpers/temp.js';

const dir = tempDir('file-crash');
/** Kills in all; the pipelines run side by side, each on its own file. */
const KILLS = 102;
const PIPELINES = 2;
const USERS = 5;

/**
 * The child is started 100 times: compile it (and the sources it imports) to plain JavaScript once,
 * so each start costs a bare `node` (~60 ms) rather than a TypeScript loader (~300 ms or more).
 */
function compileChild(entry: string, outDir: string): string {
  const root = process.cwd();
  const output = (file: string): string => join(outDir, relative(root, file)).replace(/\.ts$/, '.js');
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    mkdirSync(dirname(output(file)), { recursive: true });
    writeFileSync(output(file), outputText);
    for (const [, specifier] of source.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g))
      visit(resolve(dirname(file), `${specifier}.ts`));
  };
  visit(resolve(entry));
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(root, 'node_modules'), join(outDir, 'node_modules'));
  return output(resolve(entry));
}

let childScript = '';
before(() => {
  childScript = compileChild('test/fixtures/file-crash-saver.ts', `${dir}/child`);
});

interface Ack {
  id: string;
  seq: number;
}

interface Evidence {
  kills: number;
  temporaries: number;
  locksLeft: number;
  acks: number;
}

/**
 * One child: started, then killed 5–60 ms after its first acknowledged save (one time in four,
 * 0–60 ms after it started saving, so that kills also land in a first save: lazy open, takeover
 * of the dead predecessor's lock, sweep of its temporaries). Returns its acknowledged saves.
 */
async function runAndKill(
  filename: string,
  prefix: string,
  start: number,
  early: boolean,
  compactDelayMs: number,
): Promise<string[]> {
  const child = spawn(
    process.execPath,
    [childScript, filename, prefix, String(start), String(USERS), String(compactDelayMs)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (early ? out.startsWith('ready\n') : /^ready\n.*\n/.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`crash saver exited early (${code})`)));
  });
  await sleep(early ? Math.random() * 60 : 5 + Math.random() * 55);
  child.kill('SIGKILL');
  await exited;
  // A line cut by the kill was never complete, and so was never acknowledged.
  return out.split('\n').slice(1, -1);
}

/** The rows of the token file with the journal applied, read with no FileStore: the parse must succeed. */
function stored(filename: string): TokenRecord[] {
  const rows = new Map<string, TokenRecord>();
  if (existsSync(filename))
    for (const row of parseTokenFile(readFileSync(filename, 'utf8'), filename).rows)
      rows.set(row.record.id, row.record);
  const journal = `${filename}.journal`;
  if (existsSync(journal)) {
    for (const entry of decodeJournal(readFileSync(journal), 0, journal).entries) {
      if (entry.cleared) rows.clear();
      for (const id of entry.deleted) rows.delete(id);
      for (const record of entry.set) rows.set(record.id, record);
    }
  }
  return [...rows.values()];
}

function check(
  folder: string,
  filename: string,
  acked: Map<string, Ack>,
  inFlight: Set<number>,
  evidence: Evidence,
): void {
  const records = stored(filename);
  if (records.length === 0) {
    assert.equal(acked.size, 0, 'the tokens are gone');
    return;
  }
  const byUser = new Map(records.map((record) => [record.userName, record]));
  for (const [user, ack] of acked) {
    const row = byUser.get(user);
    assert.ok(row, `acknowledged save of ${user} (seq ${ack.seq}) is missing`);
    assert.equal(row.id, ack.id);
    // The save in flight at a kill may have landed, unacknowledged: never an older one.
    assert.ok(
      row.expiresAt === ack.seq || inFlight.has(row.expiresAt!),
      `${user}: seq ${row.expiresAt}, acknowledged ${ack.seq}`,
    );
    assert.ok(row.expiresAt! >= ack.seq, `${user} went back from seq ${ack.seq} to ${row.expiresAt}`);
    assert.equal(row.accessToken, `${user.split('-')[0]},"access"\n${row.expiresAt}`);
  }
  for (const record of records) {
    if (!acked.has(record.userName!)) assert.ok(inFlight.has(record.expiresAt!), 'a row appeared that no save wrote');
  }
  for (const file of [filename, `${filename}.journal`])
    if (existsSync(file)) assert.equal(statSync(file).mode & 0o777, 0o600);
  for (const name of readdirSync(folder)) {
    if (name.endsWith('.tmp')) {
      evidence.temporaries++;
      assert.equal(statSync(`${folder}/${name}`).mode & 0o777, 0o600, `temporary ${name}`);
    }
    if (name.endsWith('.lock')) evidence.locksLeft++;
  }
}

async function pipeline(p: number, kills: number, evidence: Evidence): Promise<void> {
  const folder = `${dir}/p${p}`;
  mkdirSync(folder);
  const filename = `${folder}/sdk_tokens.txt`;
  const prefix = `p${p}`;
  const acked = new Map<string, Ack>();
  const inFlight = new Set<number>();
  let next = 0;
  for (let k = 0; k < kills; k++) {
    // Folds before every save resolves, a few ms after, or after the kill: kills land in every phase.
    const lines = await runAndKill(filename, prefix, next, k % 4 === 0, [0, 3, 60_000][k % 3]!);
    for (const line of lines) {
      const [id, user, seqText] = line.split(' ');
      acked.set(user!, { id: id!, seq: Number(seqText) });
      next = Number(seqText) + 1;
      evidence.acks++;
    }
    // The save the child was making when killed: it may or may not have landed.
    inFlight.add(next);
    next += 1;
    evidence.kills++;
    check(folder, filename, acked, inFlight, evidence);
  }
  const store = new FileStore({ filename });
  assert.ok((await store.getTokens()).length >= acked.size);
  await store.compact();
  await store.close();
  // Folded, the official file alone holds every acknowledged save.
  const rows = new Map(
    parseTokenFile(readFileSync(filename, 'utf8'), filename).rows.map((row) => [row.record.userName, row.record]),
  );
  for (const [user, ack] of acked)
    assert.ok(rows.get(user)!.expiresAt! >= ack.seq, `${user} is missing from the folded file`);
}

describe('FileStore crash safety', () => {
  it(`${KILLS} SIGKILLs at random moments never lose an acknowledged save or leave an unreadable file`, async (t) => {
    const started = Date.now();
    const evidence: Evidence = { kills: 0, temporaries: 0, locksLeft: 0, acks: 0 };
    await Promise.all(Array.from({ length: PIPELINES }, (_, p) => pipeline(p, Math.ceil(KILLS / PIPELINES), evidence)));
    assert.ok(evidence.kills >= 100);
    assert.ok(evidence.acks > evidence.kills, 'the children must get saves acknowledged between kills');
    t.diagnostic(
      `${evidence.kills} kills, ${evidence.acks} acknowledged saves, temporaries seen after kills: ${evidence.temporaries}, ` +
        `lock directories seen after kills: ${evidence.locksLeft}, ${Date.now() - started} ms`,
    );
  });
});
