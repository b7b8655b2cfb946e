/**
 * The bench's emulator in its own process, so the client under test and the server do not share a
 * core: started by {@link startEmulatorProcess} with `fork`, it starts an emulator, mints one grant
 * code per requested user and posts `{ environment, codes }` back over IPC; it exits when the parent
 * disconnects.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Environment } from 'zoho-token-store';

/** What the child posts once it listens. */
export interface EmulatorProcessReady {
  readonly environment: Environment;
  /** Grant codes, one per requested user, in order. */
  readonly codes: readonly string[];
}

/** What the parent asks for (argv[2], JSON). */
interface EmulatorProcessRequest {
  readonly client: { readonly clientId: string; readonly clientSecret: string };
  readonly users: readonly string[];
  readonly scopes: readonly string[];
}

/** A running emulator child: its environment, grant codes, and `close()` (kills it). */
export interface EmulatorProcess extends EmulatorProcessReady {
  close(): Promise<void>;
}

/** Forks this file as an emulator process (same loader flags as this process: tsx, source conditions). */
export async function startEmulatorProcess(request: EmulatorProcessRequest): Promise<EmulatorProcess> {
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(request)], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<EmulatorProcessReady>((resolve, reject) => {
    child.once('message', (message) => resolve(message as EmulatorProcessReady));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the emulator process exited (${code}) before it was ready`)));
  });
  child.removeAllListeners('exit');
  return {
    ...ready,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function runChild(request: EmulatorProcessRequest): Promise<void> {
  const { startZohoEmulator } = await import('zoho-token-store/emulator');
  const emu = await startZohoEmulator({ clients: [request.client], limits: { mintsPerWindow: 1_000_000 } });
  const codes: string[] = [];
  for (const user of request.users) {
    codes.push(await emu.createGrantCode({ clientId: request.client.clientId, user, scopes: [...request.scopes] }));
  }
  const stop = (): void => void emu.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  process.send!({ environment: emu.environment, codes } satisfies EmulatorProcessReady);
}

if (process.send !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  await runChild(JSON.parse(process.argv[2]!) as EmulatorProcessRequest);
}
