import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OAuthToken } from 'zoho-token-store';
import type { ZohoEmulator } from 'zoho-token-store/emulator';
import { CLIENT, authFor, dbFile, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import type { WorkerTask } from './fixtures/refresh-worker.js';

const WORKER = fileURLToPath(new URL('./fixtures/refresh-worker.ts', import.meta.url));
const ROOT = dirname(dirname(WORKER));
const USER = 'ada.lovelace@example.com';

interface Worker {
  child: ChildProcessWithoutNullStreams;
  /** The next line the child prints. */
  nextLine(): Promise<string>;
}

function startWorker(task: WorkerTask): Worker {
  const child = spawn(
    process.execPath,
    ['--conditions=zoho-token-store-source', '--import', 'tsx', WORKER, JSON.stringify(task)],
    { cwd: ROOT },
  );
  after(() => void child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    child,
    nextLine: async () => {
      const next = await lines.next();
      if (next.done) throw new Error(`worker ended without output; stderr: ${stderr}`);
      return next.value;
    },
  };
}

/** A logged-in user whose stored access token is already expired for every process's wall clock. */
async function expiredLogin(emu: ZohoEmulator, file: string): Promise<OAuthToken> {
  const store = sqliteStore(file);
  const token = await login(emu, authFor(emu, store), USER);
  // The children cannot share the emulator's clock object: expire the token in the store instead.
  await store.saveToken(new OAuthToken({ id: token.id!, expiresAt: Date.now() - 1000 }));
  return token;
}

const taskFor = (emu: ZohoEmulator, file: string): Omit<WorkerTask, 'mode'> => ({
  file,
  environment: emu.environment,
  clientId: CLIENT.clientId,
  clientSecret: CLIENT.clientSecret,
  user: USER,
});

describe('refresh across processes sharing one SQLite file', () => {
  test('two processes, 20 concurrent callers each: exactly one refresh, one token', async () => {
    const emu = await emulator();
    const file = dbFile('procs');
    const first = await expiredLogin(emu, file);
    // A slow token endpoint, so the second process surely waits on the lock while the first refreshes.
    emu.faults.inject({ kind: 'latency', ms: 300, target: 'token' });
    const workers = [
      startWorker({ mode: 'refresh', calls: 20, ...taskFor(emu, file) }),
      startWorker({ mode: 'refresh', calls: 20, ...taskFor(emu, file) }),
    ];
    for (const worker of workers) assert.equal(await worker.nextLine(), 'ready');
    for (const worker of workers) worker.child.stdin.write('go\n');
    const results = await Promise.all(workers.map(async (w) => JSON.parse(await w.nextLine()) as { tokens: string[] }));

    assert.equal(emu.stats().refreshRequests, 1);
    const stored = await sqliteStore(file).findTokenById(first.id!);
    assert.notEqual(stored?.accessToken, first.accessToken);
    const expected = createHash('sha256').update(stored!.accessToken!).digest('hex');
    for (const { tokens } of results) assert.deepEqual(new Set(tokens), new Set([expected]));
    for (const { child } of workers) assert.equal(child.exitCode ?? (await once(child, 'exit'))[0], 0);
  });

  test('a lock holder killed with SIGKILL: another process proceeds once the lease runs out', async () => {
    const emu = await emulator();
    const file = dbFile('killed');
    const first = await expiredLogin(emu, file);
    const leaseMs = 1500;
    const holder = startWorker({ mode: 'hold-lock', tokenId: first.id!, leaseMs, ...taskFor(emu, file) });
    const lockedAt = Number((await holder.nextLine()).split(' ')[1]);
    const exited = once(holder.child, 'exit');
    holder.child.kill('SIGKILL');
    await exited;

    const auth = authFor(emu, sqliteStore(file), { lockLeaseMs: leaseMs, lockWaitMs: 10_000 });
    const token = await auth.getAccessToken({ user: USER });
    const waited = Date.now() - lockedAt;
    assert.ok(waited >= leaseMs, `proceeded after ${waited} ms, before the ${leaseMs} ms lease ran out`);
    assert.ok(waited < leaseMs + 5000, `waited ${waited} ms: far longer than the lease`);
    assert.notEqual(token, first.accessToken);
    assert.equal(emu.tokenInfo(token)?.user, USER);
    assert.equal(emu.stats().refreshRequests, 1);
  });
});
