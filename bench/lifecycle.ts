/**
 * Lifecycle benchmark: the cost of a cached `getAccessToken`, and ZohoClient's throughput against
 * bare `fetch` with the same header on the same emulator endpoint (`GET /crm/v8/org`).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { CHANNELS, MemoryStore, ZohoAuth, ZohoClient } from 'zoho-token-store';
import { startEmulatorProcess } from './emulator-process.js';
import { fmtRate } from './measure.js';

const CLIENT = {
  clientId: '1000.BENCHLIFECYCLE00000000000000000',
  clientSecret: 'bench-lifecycle-secret-0123456789abcdef00',
};
const USER = 'bench@example.com';
const CACHED_CALLS = 1_000_000;
const BATCH = 250;
const BATCHES = 24;
const CONCURRENCY = 16;

/** Nanoseconds to make `count` calls of `op`, `concurrency` at a time. */
async function elapsed(count: number, concurrency: number, op: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) await op();
    }),
  );
  return Number(process.hrtime.bigint() - started);
}

/**
 * Requests per second of `a` and `b`, measured in alternating batches so that drift (JIT warm-up,
 * other load on the machine) hits both alike.
 */
async function paired(
  concurrency: number,
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
): Promise<[number, number, number]> {
  for (let i = 0; i < 4; i++) await elapsed(BATCH, concurrency, i % 2 === 0 ? a : b); // warm-up
  let nsA = 0;
  let nsB = 0;
  const pairRatios: number[] = [];
  for (let i = 0; i < BATCHES; i++) {
    // Which goes first is random, so neither always follows the other's garbage.
    let pairA: number;
    let pairB: number;
    if (Math.random() < 0.5) {
      pairA = await elapsed(BATCH, concurrency, a);
      pairB = await elapsed(BATCH, concurrency, b);
    } else {
      pairB = await elapsed(BATCH, concurrency, b);
      pairA = await elapsed(BATCH, concurrency, a);
    }
    nsA += pairA;
    nsB += pairB;
    pairRatios.push(pairA / pairB);
  }
  const total = BATCH * BATCHES;
  // The median of the back-to-back pairs' ratios: a burst of load from other processes skews one pair, not the figure.
  pairRatios.sort((x, y) => x - y);
  return [(total / nsA) * 1e9, (total / nsB) * 1e9, pairRatios[pairRatios.length >> 1]!];
}

export async function lifecycleBench(): Promise<string> {
  // The emulator runs in its own process: the client's cost is measured without the server's on its core.
  const emu = await startEmulatorProcess({ client: CLIENT, users: [USER], scopes: ['ZohoCRM.org.READ'] });
  try {
    const auth = new ZohoAuth({ store: new MemoryStore(), environment: emu.environment, ...CLIENT });
    await auth.exchangeGrantToken(emu.codes[0]!, { user: USER });
    let refreshes = 0;
    auth.on('refreshed', () => void refreshes++);
    const who = { user: USER };

    // Cached getAccessToken: one user, sequential awaited calls on one core.
    const cached = async (): Promise<number> => {
      for (let i = 0; i < 100_000; i++) await auth.getAccessToken(who);
      const started = process.hrtime.bigint();
      for (let i = 0; i < CACHED_CALLS; i++) await auth.getAccessToken(who);
      return (CACHED_CALLS / Number(process.hrtime.bigint() - started)) * 1e9;
    };
    const cachedRate = await cached();
    // The same with a diagnostics_channel subscriber on the cache channel (what a metrics bridge does).
    let hits = 0;
    const onCache = (): void => void hits++;
    subscribe(CHANNELS.cache, onCache);
    const subscribedRate = await cached();
    unsubscribe(CHANNELS.cache, onCache);
    if (hits < CACHED_CALLS) throw new Error(`the subscriber saw ${hits} of ${CACHED_CALLS} calls`);

    // ZohoClient against bare fetch with the same fixed header, alternating rounds to even out drift.
    const client = new ZohoClient({ auth });
    const url = `${emu.environment.apiDomain}/crm/v8/org`;
    const headers = { authorization: `Zoho-oauthtoken ${await auth.getAccessToken(who)}`, accept: 'application/json' };
    const bare = async (): Promise<unknown> => (await fetch(url, { headers })).json();
    const viaClient = (): Promise<unknown> => client.get('/crm/v8/org', who);
    const rows: string[] = [];
    const ratios: number[] = [];
    for (const concurrency of [1, CONCURRENCY]) {
      const [bareRate, clientRate, pairRatio] = await paired(concurrency, bare, viaClient);
      ratios.push(clientRate / bareRate);
      const label = concurrency === 1 ? 'sequential' : `concurrency ${concurrency}`;
      rows.push(
        `| ${label} | ${fmtRate(bareRate)} | ${fmtRate(clientRate)} | ${(clientRate / bareRate).toFixed(3)} | ${pairRatio.toFixed(3)} |`,
      );
    }
    if (refreshes !== 0) throw new Error('the bench token was refreshed: the numbers include refreshes');

    return [
      '## Token lifecycle',
      '',
      `Cached \`getAccessToken\` (one user, ${fmtRate(CACHED_CALLS)} sequential awaited calls, one core): **${fmtRate(cachedRate)} calls/s** (target > 1,000,000); with a \`node:diagnostics_channel\` subscriber on \`${CHANNELS.cache}\`: ${fmtRate(subscribedRate)} calls/s (${((subscribedRate / cachedRate) * 100).toFixed(0)}%).`,
      '',
      `\`ZohoClient.get('/crm/v8/org')\` vs bare \`fetch\` with the same header, on the emulator in a separate process; ${fmtRate(BATCH * BATCHES)} requests each, in alternating batches of ${BATCH} (target ratio ≥ 0.95):`,
      '',
      '| load | bare fetch req/s | ZohoClient req/s | ratio | median ratio of the batch pairs |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `Lowest ratio: ${Math.min(...ratios).toFixed(3)}.`,
      '',
    ].join('\n');
  } finally {
    await emu.close();
  }
}

// Run directly: `node --conditions=zoho-token-store-source --import tsx bench/lifecycle.ts`.
if (import.meta.url === `file://${process.argv[1]}`) console.log(await lifecycleBench());
