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
const CONCURRENCY = 16;
/**
 * Short batches, so a burst of load on the shared cores hits both sides of a pair alike (longer
 * ones, e.g. 128 at concurrency 16, gave A/A intervals five times as wide).
 */
const PLANS = [
  { concurrency: 1, batch: 32, pairs: 400 },
  { concurrency: CONCURRENCY, batch: 32, pairs: 400 },
] as const;
/** Batches of each side before measuring: both code paths JIT-compiled, caches and pools warm. */
const WARM_UP_BATCHES = 64;

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

/** How `b` compares with `a`: requests per second of each, and the ratio b/a three ways. */
interface Comparison {
  readonly rateA: number;
  readonly rateB: number;
  /** Total time of `a` over total time of `b`: one burst of load on either side moves it. */
  readonly totalRatio: number;
  /** The geometric mean of the pairs' ratios: every pair counts, a burst less than in the totals. */
  readonly geomean: number;
  /** The median of the back-to-back pairs' ratios, and its 95% confidence interval. */
  readonly median: number;
  readonly low: number;
  readonly high: number;
}

/**
 * `a` and `b` in `pairs` back-to-back pairs of batches, which goes first drawn at random, so that
 * drift (JIT warm-up, garbage, other load on the machine) hits both alike.
 */
async function paired(
  plan: (typeof PLANS)[number],
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
): Promise<Comparison> {
  const { concurrency, batch, pairs } = plan;
  for (let i = 0; i < 2 * WARM_UP_BATCHES; i++) await elapsed(batch, concurrency, i % 2 === 0 ? a : b);
  let nsA = 0;
  let nsB = 0;
  let logSum = 0;
  const ratios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    let pairA: number;
    let pairB: number;
    if (Math.random() < 0.5) {
      pairA = await elapsed(batch, concurrency, a);
      pairB = await elapsed(batch, concurrency, b);
    } else {
      pairB = await elapsed(batch, concurrency, b);
      pairA = await elapsed(batch, concurrency, a);
    }
    nsA += pairA;
    nsB += pairB;
    ratios.push(pairA / pairB);
    logSum += Math.log(pairA / pairB);
  }
  const total = batch * pairs;
  ratios.sort((x, y) => x - y);
  // Order statistics around the median: a distribution-free 95% interval (for independent pairs;
  // neighbouring pairs share spells of load, so read it as a lower bound on the uncertainty).
  const mid = pairs >> 1;
  const half = Math.ceil(0.98 * Math.sqrt(pairs));
  return {
    rateA: (total / nsA) * 1e9,
    rateB: (total / nsB) * 1e9,
    totalRatio: nsA / nsB,
    geomean: Math.exp(logSum / pairs),
    median: ratios[mid]!,
    low: ratios[mid - half]!,
    high: ratios[mid + half]!,
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
    const results: Comparison[] = [];
    const f = (x: number): string => x.toFixed(3);
    for (const plan of PLANS) {
      const vs = await paired(plan, bare, viaClient);
      const aa = await paired(plan, bare, bareAgain);
      results.push(vs);
      const label = plan.concurrency === 1 ? 'sequential' : `concurrency ${plan.concurrency}`;
      rows.push(
        `| ${label} (${plan.pairs} pairs of ${plan.batch}) | ${fmtRate(vs.rateA)} | ${fmtRate(vs.rateB)} | **${f(vs.median)}** (${f(vs.low)}–${f(vs.high)}) | ${f(vs.geomean)} | ${f(vs.totalRatio)} | ${f(aa.median)} (${f(aa.low)}–${f(aa.high)}) · ${f(aa.geomean)} · ${f(aa.totalRatio)} |`,
      );
    }
    const lowest = (pick: (c: Comparison) => number): string => f(Math.min(...results.map(pick)));
    if (refreshes !== 0) throw new Error('the bench token was refreshed: the numbers include refreshes');

    return [
      '## Token lifecycle',
      '',
      `Cached \`getAccessToken\` (one user, ${fmtRate(CACHED_CALLS)} sequential awaited calls, one core): **${fmtRate(cachedRate)} calls/s** (target > 1,000,000); with a \`node:diagnostics_channel\` subscriber on \`${CHANNELS.cache}\`: ${fmtRate(subscribedRate)} calls/s (${((subscribedRate / cachedRate) * 100).toFixed(0)}%).`,
      '',
      `\`ZohoClient.get('/crm/v8/org')\` vs bare \`fetch\` with the same header, on the emulator in a separate process, in back-to-back pairs of batches (which side goes first drawn at random). The figure is the median of the pairs' ratios (ZohoClient's throughput over bare fetch's) with its 95% interval, then their geometric mean and the ratio of the totals; the last column is the same three for bare fetch against itself (A/A), which is what this machine's noise alone does. Target: ≥ 0.95.`,
      '',
      '| load | bare fetch req/s | ZohoClient req/s | ratio: median of pairs (95% interval) | geometric mean | ratio of totals | A/A: median (interval) · geomean · totals |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `Lowest: median ${lowest((c) => c.median)}, its interval's low end ${lowest((c) => c.low)}, geometric mean ${lowest((c) => c.geomean)}, ratio of totals ${lowest((c) => c.totalRatio)}.`,
      '',
    ].join('\n');
  } finally {
    await emu.close();
  }
}

// Run directly: `node --conditions=zoho-token-store-source --import tsx bench/lifecycle.ts`.
if (import.meta.url === `file://${process.argv[1]}`) console.log(await lifecycleBench());
