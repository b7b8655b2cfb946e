/**
 * Cached `getAccessToken` calls/s of any checkout of this repository, measured the same way, to
 * compare two commits on one machine: check the other one out beside this one (`git worktree add
 * /tmp/base <commit>`, its node_modules linked to this one's), then run in turn
 * `node --import tsx bench/compare-cached.ts /tmp/base` and `… bench/compare-cached.ts .`.
 * Prints the median of 5 rounds of 1,000,000 calls after 200,000 warm-up calls, and every round.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const CLIENT = {
  clientId: '1000.BENCHLIFECYCLE00000000000000000',
  clientSecret: 'bench-lifecycle-secret-0123456789abcdef00',
};
const USER = 'bench@example.com';

interface Auth {
  exchangeGrantToken(code: string, options: { user: string }): Promise<unknown>;
  getAccessToken(who: { user: string }): Promise<string>;
}

const root = resolve(process.argv[2] ?? '.');
const source = (path: string): string => pathToFileURL(resolve(root, path)).href;
const { MemoryStore, ZohoAuth } = (await import(source('src/index.ts'))) as {
  MemoryStore: new () => unknown;
  ZohoAuth: new (options: Record<string, unknown>) => Auth;
};
const { startZohoEmulator } = (await import(source('src/emulator/index.ts'))) as {
  startZohoEmulator(options: Record<string, unknown>): Promise<{
    environment: unknown;
    createGrantCode(request: Record<string, unknown>): Promise<string>;
    close(): Promise<void>;
  }>;
};
const emu = await startZohoEmulator({ clients: [CLIENT] });
const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: ['ZohoCRM.org.READ'] });
const auth = new ZohoAuth({ store: new MemoryStore(), environment: emu.environment, ...CLIENT });
await auth.exchangeGrantToken(code, { user: USER });
const who = { user: USER };
for (let i = 0; i < 200_000; i++) await auth.getAccessToken(who);
const rates: number[] = [];
for (let round = 0; round < 5; round++) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < 1_000_000; i++) await auth.getAccessToken(who);
  rates.push(1e15 / Number(process.hrtime.bigint() - started));
}
rates.sort((a, b) => a - b);
console.log(
  `${root}: median ${Math.round(rates[2]!).toLocaleString('en-US')} calls/s; rounds ${rates.map((r) => Math.round(r).toLocaleString('en-US')).join(', ')}`,
);
await emu.close();
