/**
 * Lifecycle benchmark: the cost of a cached `getAccessToken`, and ZohoClient's throughput against
 * bare `fetch` with the same header on the same emulator endpoint (`GET /crm/v8/org`).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { CHANNELS, MemoryStore, ZohoAuth, ZohoClient } from 'zoho-token-store';
import { startEmulatorProcess } from './emulator-process.js';
import { fmtRate } from './measure.js';

const CLIENT = {
  clientId: '1000.BENCHLIFECYCLE00000000000000000',
  clientSecret: 'bench-lifecycle-secret-0123456789abcdef00',
};
const USER = 'bench@example.com';
const CACHED_CALLS = 1_000_000;
/** Rounds of the cached figure, with and without a subscriber in turn; the median of each is shown. */
const CACHED_ROUNDS = 5;
const CONCURRENCY = 16;
/**
 * Short batches, so a burst of load on the shared cores hits both sides of a pair alike (longer
 * ones, e.g. 128 at concurrency 16, gave A/A intervals five times as wide); many pairs, so the
 * median's interval is about ±1% (with 400, single runs' sequential medians spread 0.947–0.987).
 */
const PLANS = [
  { concurrency: 1, batch: 32, pairs: 1_200 },
  { concurrency: CONCURRENCY, batch: 32, pairs: 800 },
] as const;
/** Batches of each side before measuring: both code paths JIT-compiled, caches and pools warm. */
const WARM_UP_BATCHES = 64;

/** One timed batch: when it started and ended (ms, `performance.now()`), and the young-generation bytes it left. */
interface Batch {
  readonly start: number;
  readonly end: number;
  /** Growth of the young generation over the batch: its allocation, when no scavenge ran meanwhile. */
  readonly young: number;
}

/** Bytes in use in V8's young generation (where a request's garbage goes until a scavenge). */
function youngBytes(): number {
  let used = 0;
  for (const space of getHeapSpaceStatistics())
    if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space')
      used += space.space_used_size;
  return used;
}

/** Makes `count` calls of `op`, `concurrency` at a time. */
async function timed(count: number, concurrency: number, op: () => Promise<unknown>): Promise<Batch> {
  let next = 0;
  const before = youngBytes();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) await op();
    }),
  );
  const end = performance.now();
  const after = youngBytes();
  return { start, end, young: after - before };
}

/** A garbage collection: when it started and how long it took (ms). */
interface GcPause {
  readonly start: number;
  readonly duration: number;
}

/** The ratio b/a of a set of pairs three ways. */
interface Ratios {
  readonly pairs: number;
  /** The median of the pairs' ratios, and its 95% confidence interval. */
  readonly median: number;
  readonly low: number;
  readonly high: number;
  /** The geometric mean of the pairs' ratios: every pair counts, a burst less than in the totals. */
  readonly geomean: number;
  /** Total time of `a` over total time of `b`: one burst of load on either side moves it. */
  readonly totalRatio: number;
}

/** How `b` compares with `a`: requests per second of each, the ratios, and the garbage collector's part. */
interface Comparison extends Ratios {
  readonly rateA: number;
  readonly rateB: number;
  /**
   * The same ratios over the pairs that no GC pause touched: one pause can last as long as a whole
   * batch, so the few that land in one side or the other swing the geometric mean and the totals.
   */
  readonly withoutGc: Ratios;
  /** Batches of each side that a GC pause touched: the pauses are each side's own if these differ. */
  readonly gcBatchesA: number;
  readonly gcBatchesB: number;
  /** Time those batches took beyond the median batch of their side, summed (ms). */
  readonly gcExcessA: number;
  readonly gcExcessB: number;
  /** Median young-generation bytes allocated per request on each side (what makes the pauses). */
  readonly bytesA: number;
  readonly bytesB: number;
}

/** Ratios of `pairs` (time of a, time of b). */
function ratiosOf(pairs: readonly (readonly [number, number])[]): Ratios {
  const ratios = pairs.map(([a, b]) => a / b).sort((x, y) => x - y);
  const n = ratios.length;
  if (n < 20) {
    // Too few pairs for an interval worth the name (e.g. a GC pause in nearly every pair).
    return { pairs: n, median: NaN, low: NaN, high: NaN, geomean: NaN, totalRatio: NaN };
  }
  // Order statistics around the median: a distribution-free 95% interval (for independent pairs;
  // neighbouring pairs share spells of load, so read it as a lower bound on the uncertainty).
  const mid = n >> 1;
  const half = Math.min(mid, Math.ceil(0.98 * Math.sqrt(n)));
  return {
    pairs: n,
    median: ratios[mid]!,
    low: ratios[mid - half]!,
    high: ratios[Math.min(n - 1, mid + half)]!,
    geomean: Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / n),
    totalRatio: pairs.reduce((sum, [a]) => sum + a, 0) / pairs.reduce((sum, [, b]) => sum + b, 0),
  };
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[sorted.length >> 1] ?? Number.NaN;
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
  for (let i = 0; i < 2 * WARM_UP_BATCHES; i++) await timed(batch, concurrency, i % 2 === 0 ? a : b);
  const gc: GcPause[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gc.push({ start: entry.startTime, duration: entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  const measured: [Batch, Batch][] = [];
  for (let i = 0; i < pairs; i++) {
    if (Math.random() < 0.5) {
      const batchA = await timed(batch, concurrency, a);
      measured.push([batchA, await timed(batch, concurrency, b)]);
    } else {
      const batchB = await timed(batch, concurrency, b);
      measured.push([await timed(batch, concurrency, a), batchB]);
    }
  }
  // GC entries are delivered after the fact (a task later): let the last ones in before the observer goes.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  const touched = (x: Batch): boolean =>
    gc.some((pause) => pause.start < x.end && pause.start + pause.duration > x.start);
  const time = (x: Batch): number => x.end - x.start;
  const all = ratiosOf(measured.map(([x, y]) => [time(x), time(y)] as const));
  const total = batch * pairs;
  const sumA = measured.reduce((sum, [x]) => sum + time(x), 0);
  const sumB = measured.reduce((sum, [, y]) => sum + time(y), 0);
  const excess = (side: 0 | 1): number => {
    const typical = medianOf(measured.map((pair) => time(pair[side])));
    return measured.reduce((sum, pair) => sum + (touched(pair[side]) ? time(pair[side]) - typical : 0), 0);
  };
  // A batch a scavenge ran in does not show its allocation (the young generation was emptied meanwhile).
  const bytes = (side: 0 | 1): number =>
    medianOf(measured.flatMap((pair) => (touched(pair[side]) ? [] : [pair[side].young / batch])));
  return {
    ...all,
    rateA: (total / sumA) * 1e3,
    rateB: (total / sumB) * 1e3,
    withoutGc: ratiosOf(
      measured.filter(([x, y]) => !touched(x) && !touched(y)).map(([x, y]) => [time(x), time(y)] as const),
    ),
    gcBatchesA: measured.filter(([x]) => touched(x)).length,
    gcBatchesB: measured.filter(([, y]) => touched(y)).length,
    gcExcessA: excess(0),
    gcExcessB: excess(1),
    bytesA: bytes(0),
    bytesB: bytes(1),
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
    // The same with a diagnostics_channel subscriber on the cache channel (what a metrics bridge does),
    // in alternating rounds: whichever runs first would otherwise carry the JIT's warm-up alone.
    let hits = 0;
    const onCache = (): void => void hits++;
    const plain: number[] = [];
    const subscribed: number[] = [];
    for (let round = 0; round < CACHED_ROUNDS; round++) {
      const withFirst = round % 2 === 1;
      for (const withSubscriber of withFirst ? [true, false] : [false, true]) {
        if (withSubscriber) subscribe(CHANNELS.cache, onCache);
        (withSubscriber ? subscribed : plain).push(await cached());
        if (withSubscriber) unsubscribe(CHANNELS.cache, onCache);
      }
    }
    if (hits < CACHED_CALLS * CACHED_ROUNDS)
      throw new Error(`the subscriber saw ${hits} of ${CACHED_CALLS * CACHED_ROUNDS} calls`);
    const cachedRate = medianOf(plain);
    const subscribedRate = medianOf(subscribed);

    // ZohoClient against bare fetch with the same fixed header, alternating rounds to even out drift.
    const client = new ZohoClient({ auth });
    const url = `${emu.environment.apiDomain}/crm/v8/org`;
    const headers = { authorization: `Zoho-oauthtoken ${await auth.getAccessToken(who)}`, accept: 'application/json' };
    const bare = async (): Promise<unknown> => (await fetch(url, { headers })).json();
    const viaClient = (): Promise<unknown> => client.get('/crm/v8/org', who);
    // A second bare fetch against the first (A/A): how far the same code moves on this machine.
    const bareAgain = async (): Promise<unknown> => (await fetch(url, { headers })).json();
    const rows: string[] = [];
    const gcRows: string[] = [];
    const results: Comparison[] = [];
    const f = (x: number): string => (Number.isNaN(x) ? 'n/a' : x.toFixed(3));
    for (const plan of PLANS) {
      const vs = await paired(plan, bare, viaClient);
      const aa = await paired(plan, bare, bareAgain);
      results.push(vs);
      const label = plan.concurrency === 1 ? 'sequential' : `concurrency ${plan.concurrency}`;
      rows.push(
        `| ${label} (${plan.pairs} pairs of ${plan.batch}) | ${fmtRate(vs.rateA)} | ${fmtRate(vs.rateB)} | **${f(vs.median)}** (${f(vs.low)}–${f(vs.high)}) | ${f(vs.geomean)} | ${f(vs.totalRatio)} | ${f(aa.median)} (${f(aa.low)}–${f(aa.high)}) · ${f(aa.geomean)} · ${f(aa.totalRatio)} |`,
      );
      const three = (r: Ratios): string => `${f(r.median)} · ${f(r.geomean)} · ${f(r.totalRatio)}`;
      gcRows.push(
        `| ${label} | ${vs.gcBatchesA} / ${vs.gcBatchesB} (${vs.gcExcessA.toFixed(0)} / ${vs.gcExcessB.toFixed(0)} ms) | ${fmtRate(vs.bytesA)} / ${fmtRate(vs.bytesB)} (${f(vs.bytesB / vs.bytesA)}×) | ${vs.withoutGc.pairs} | **${three(vs.withoutGc)}** | ${aa.withoutGc.pairs}: ${three(aa.withoutGc)} |`,
      );
    }
    const lowest = (pick: (c: Comparison) => number): string => f(Math.min(...results.map(pick)));
    if (refreshes !== 0) throw new Error('the bench token was refreshed: the numbers include refreshes');

    return [
      '## Token lifecycle',
      '',
      `Cached \`getAccessToken\` (one user, ${fmtRate(CACHED_CALLS)} sequential awaited calls, one core; the median of ${CACHED_ROUNDS} rounds, alternating with the subscribed ones): **${fmtRate(cachedRate)} calls/s** (target > 1,000,000); with a \`node:diagnostics_channel\` subscriber on \`${CHANNELS.cache}\`: ${fmtRate(subscribedRate)} calls/s (${((subscribedRate / cachedRate) * 100).toFixed(0)}%).`,
      '',
      `\`ZohoClient.get('/crm/v8/org')\` vs bare \`fetch\` with the same header, on the emulator in a separate process, in back-to-back pairs of batches (which side goes first drawn at random). The figure is the median of the pairs' ratios (ZohoClient's throughput over bare fetch's) with its 95% interval, then their geometric mean and the ratio of the totals; the last column is the same three for bare fetch against itself (A/A), which is what this machine's noise alone does. Target: ≥ 0.95.`,
      '',
      '| load | bare fetch req/s | ZohoClient req/s | ratio: median of pairs (95% interval) | geometric mean | ratio of totals | A/A: median (interval) · geomean · totals |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `Lowest: median ${lowest((c) => c.median)}, its interval's low end ${lowest((c) => c.low)}, geometric mean ${lowest((c) => c.geomean)}, ratio of totals ${lowest((c) => c.totalRatio)}.`,
      '',
      "The garbage collector's part: one pause can last as long as a whole batch, so the few pairs it touches swing the geometric mean and the totals. Which side's batches the pauses fell in, each side's young-generation allocation per request (what makes them), and the ratios over the pairs no pause touched (median · geometric mean · totals; A/A alike):",
      '',
      '| load | batches touched by a GC pause: bare / ZohoClient (their time beyond a median batch) | bytes allocated per request: bare / ZohoClient | pairs without a pause | ratio without them | A/A without them |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...gcRows,
      '',
      `Lowest without the paused pairs: median ${lowest((c) => c.withoutGc.median)}, geometric mean ${lowest((c) => c.withoutGc.geomean)}, ratio of totals ${lowest((c) => c.withoutGc.totalRatio)}.`,
      '',
    ].join('\n');
  } finally {
    await emu.close();
  }
}

// Run directly: `node --conditions=zoho-token-store-source --import tsx bench/lifecycle.ts`.
if (import.meta.url === `file://${process.argv[1]}`) console.log(await lifecycleBench());
