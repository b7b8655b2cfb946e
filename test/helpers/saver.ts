import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export type StoreSpec =
  | { kind: 'sqlite'; filename: string }
  | { kind: 'mysql'; url: string; table: string }
  | { kind: 'postgres'; url: string; table: string }
  | { kind: 'redis'; url: string; prefix: string };

const run = promisify(execFile);
const SAVER = fileURLToPath(new URL('../fixtures/store-saver.ts', import.meta.url));

/** Runs a child process that saves `count` tokens at once into the store; resolves to their ids. */
export async function saveInChild(spec: StoreSpec, tag: string, count: number, sharedUser = ''): Promise<string[]> {
  const { stdout } = await run(
    process.execPath,
    [
      '--conditions=zoho-token-store-source',
      '--import',
      'tsx',
      SAVER,
      JSON.stringify(spec),
      tag,
      String(count),
      sharedUser,
    ],
    {
      timeout: 120_000,
    },
  );
  return JSON.parse(stdout) as string[];
}
