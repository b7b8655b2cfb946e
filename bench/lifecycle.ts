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
/** Requests per batch: short batches, so a burst of load on the shared cores hits both sides of a pair alike. */
const BATCH = 32;
const PAIRS = 400;
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

/** How `b` compares with `a`: requests per second of each, and the ratio b/a two ways. */
interface Comparison {
  readonly rateA: number;
  readonly rateB: number;
  /** Total time of `a` over total time of `b`: what one burst of load can move. */
  readonly totalRatio: number;
  /** The median of the back-to-back batch pairs' ratios, and its 95% confidence interval. */
  readonly median: number;
  readonly low: number;
  readonly high: number;
}

/**
 * `a` and `b` in {@link PAIRS} back-to-back pairs of batches, which goes first drawn at random,
 * so that drift (JIT warm-up, garbage, other load on the machine) hits both alike.
 */
async function paired(concurrency: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<Comparison> {
  for (let i = 0; i < 8; i++) await elapsed(BATCH, concurrency, i % 2 === 0 ? a : b); // warm-up
  let nsA = 0;
  let nsB = 0;
  const ratios: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
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
    ratios.push(pairA / pairB);
  }
  const total = BATCH * PAIRS;
  ratios.sort((x, y) => x - y);
  // Order statistics around the median: a distribution-free 95% interval.
  const half = Math.ceil(0.98 * Math.sqrt(PAIRS));
  return {
    rateA: (total / nsA) * 1e9,
    rateB: (total / nsB) * 1e9,
    totalRatio: nsA / nsB,
    median: ratios[PAIRS >> 1]!,
    low: ratios[(PAIRS >> 1) - half]!,
    high: ratios[(PAIRS >> 1) + half]!,
  };
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
    // A second bare fetch against the first (A/A): how far the same code moves on this machine.
    const bareAgain = async (): Promise<unknown> => (await fetch(url, { headers })).json();
    const rows: string[] = [];
    const medians: number[] = [];
    for (const concurrency of [1, CONCURRENCY]) {
      const vs = await paired(concurrency, bare, viaClient);
      const aa = await paired(concurrency, bare, bareAgain);
      medians.push(vs.median);
      const label = concurrency === 1 ? 'sequential' : `concurrency ${concurrency}`;
      rows.push(
        `| ${label} | ${fmtRate(vs.rateA)} | ${fmtRate(vs.rateB)} | **${vs.median.toFixed(3)}** (${vs.low.toFixed(3)}–${vs.high.toFixed(3)}) | ${vs.totalRatio.toFixed(3)} | ${aa.median.toFixed(3)} (${aa.low.toFixed(3)}–${aa.high.toFixed(3)}) / ${aa.totalRatio.toFixed(3)} |`,
      );
    }
    if (refreshes !== 0) throw new Error('the bench token was refreshed: the numbers include refreshes');

    return [
      '## Token lifecycle',
      '',
      `Cached \`getAccessToken\` (one user, ${fmtRate(CACHED_CALLS)} sequential awaited calls, one core): **${fmtRate(cachedRate)} calls/s** (target > 1,000,000); with a \`node:diagnostics_channel\` subscriber on \`${CHANNELS.cache}\`: ${fmtRate(subscribedRate)} calls/s (${((subscribedRate / cachedRate) * 100).toFixed(0)}%).`,
      '',
      `\`ZohoClient.get('/crm/v8/org')\` vs bare \`fetch\` with the same header, on the emulator in a separate process: ${PAIRS} back-to-back pairs of batches of ${BATCH} requests each (${fmtRate(PAIRS * BATCH)} requests a side), which side goes first drawn at random. The figure is the median of the pairs' ratios (ZohoClient's throughput over bare fetch's) with its 95% interval; the ratio of the totals follows, and the same two for bare fetch against itself (A/A), which is what the machine's noise alone does. Target: ≥ 0.95.`,
      '',
      '| load | bare fetch req/s | ZohoClient req/s | ratio: median of pairs (95% interval) | ratio of totals | A/A: median (interval) / totals |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `Lowest median ratio: ${Math.min(...medians).toFixed(3)}.`,
      '',
    ].join('\n');
  } finally {
    await emu.close();
  }
}

// Run directly: `node --conditions=zoho-token-store-source --import tsx bench/lifecycle.ts`.
if (import.meta.url === `file://${process.argv[1]}`) console.log(await lifecycleBench());
