/** Latency samples in nanoseconds → summary in microseconds. */
export interface Summary {
  medianUs: number;
  p99Us: number;
  opsPerSec: number;
}

export async function measure(count: number, op: (i: number) => Promise<unknown>): Promise<Summary> {
  const samples = new Float64Array(count);
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await op(i);
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  const totalNs = Number(process.hrtime.bigint() - started);
  samples.sort();
  const at = (q: number): number => samples[Math.min(count - 1, Math.floor(q * count))]! / 1000;
  return { medianUs: at(0.5), p99Us: at(0.99), opsPerSec: (count / totalNs) * 1e9 };
}

export const fmt = (us: number): string => (us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : us.toFixed(0));
export const fmtRate = (n: number): string => Math.round(n).toLocaleString('en-US');
