import { abortedError } from '../abort.js';
import { ErrorCode, ZohoTokenError } from '../errors.js';

/**
 * What {@link ZohoClient} does with an API 429 `TOO_MANY_REQUESTS` (Zoho's answer when an org's
 * concurrency or per-minute limit is hit): wait as long as the answer says (`Retry-After`, else
 * `X-RATELIMIT-RESET`, else a doubling back-off) and send again, within both bounds; then
 * `RATE_LIMITED` with `retryAfterMs`.
 */
export interface RateLimitOptions {
  /**
   * Retries after a 429; 0 fails at the first one.
   * @default 2
   */
  maxRetries?: number;
  /**
   * Most ms spent waiting for one call, over all its retries: a wait that would pass it is not
   * started (the call fails with RATE_LIMITED at once).
   * @default 30_000
   */
  maxTotalWaitMs?: number;
  /**
   * Wait before the first retry when the answer names none, doubled at each further retry.
   * @default 1_000
   */
  defaultWaitMs?: number;
  /**
   * Waits `ms`, rejecting with the signal's reason when it fires (tests inject a fake).
   * @default a timer
   */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /**
   * The time, epoch ms, to read an HTTP-date `Retry-After` against.
   * @default Date.now
   */
  now?: () => number;
}

/** {@link RateLimitOptions} checked, with defaults. */
export interface RateLimitPolicy {
  readonly maxRetries: number;
  readonly maxTotalWaitMs: number;
  readonly defaultWaitMs: number;
  readonly sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  readonly now: () => number;
}

/** Validates `options.rateLimit`: INVALID_ARGUMENT (field `rateLimit.<name>`) for a bad value. */
export function rateLimitPolicy(options: RateLimitOptions | undefined): RateLimitPolicy {
  if (options !== undefined && (typeof options !== 'object' || options === null))
    throw invalid('rateLimit', 'must be an object');
  const count = (name: 'maxRetries' | 'maxTotalWaitMs' | 'defaultWaitMs', fallback: number): number => {
    const value = options?.[name] ?? fallback;
    // Node timers overflow above 2^31 - 1 ms (they would fire at once).
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIMER_MS)
      throw invalid(`rateLimit.${name}`, `must be an integer from 0 to ${MAX_TIMER_MS}`);
    return value;
  };
  const sleep = options?.sleep ?? sleepFor;
  const now = options?.now ?? Date.now;
  if (typeof sleep !== 'function') throw invalid('rateLimit.sleep', 'must be a function');
  if (typeof now !== 'function') throw invalid('rateLimit.now', 'must be a function');
  return {
    maxRetries: count('maxRetries', 2),
    maxTotalWaitMs: count('maxTotalWaitMs', 30_000),
    defaultWaitMs: count('defaultWaitMs', 1_000),
    sleep,
    now,
  };
}

function invalid(field: string, message: string): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `ZohoClient options.${field} ${message}`, { field });
}

const MAX_TIMER_MS = 2_147_483_647;
const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * How long a 429 asks to wait, in ms, or undefined when it does not say: `Retry-After` (seconds or
 * an HTTP-date, RFC 9110 §10.2.3), else `X-RATELIMIT-RESET` (seconds to wait, or an epoch time in
 * seconds or ms when that large).
 */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter !== undefined && retryAfter !== '') {
    if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
    // Only the IMF-fixdate form (RFC 9110 §5.6.7): Date.parse would read "-1" as a year.
    if (IMF_FIXDATE.test(retryAfter)) {
      const date = Date.parse(retryAfter);
      if (Number.isFinite(date)) return Math.max(0, date - now);
    }
  }
  const reset = headers.get('x-ratelimit-reset')?.trim();
  if (reset !== undefined && /^\d+(\.\d+)?$/.test(reset)) {
    const value = Number(reset);
    if (value >= 1e12) return Math.max(0, Math.ceil(value - now)); // epoch ms
    if (value >= 1e9) return Math.max(0, Math.ceil(value * 1000 - now)); // epoch seconds
    return Math.ceil(value * 1000);
  }
  return undefined;
}

/** `RATE_LIMITED`: Zoho kept answering 429; `retryAfterMs` is its last word (or the next back-off). */
export function rateLimitedError(what: string, attempts: number, waitMs: number, cause?: unknown): ZohoTokenError {
  return new ZohoTokenError(
    ErrorCode.RATE_LIMITED,
    `${what} answered HTTP 429 TOO_MANY_REQUESTS ${attempts} ${attempts === 1 ? 'time' : 'times'}; retry after ${waitMs} ms`,
    { status: 429, apiCode: 'TOO_MANY_REQUESTS', retryAfterMs: waitMs, ...(cause === undefined ? {} : { cause }) },
  );
}

/** Waits `ms` or until `signal` fires (then ABORTED naming `what`). */
export async function waitOrAbort(
  policy: RateLimitPolicy,
  ms: number,
  signal: AbortSignal | undefined,
  what: string,
): Promise<void> {
  if (signal?.aborted) throw abortedError(what, signal);
  try {
    await policy.sleep(ms, signal);
  } catch (error) {
    if (signal?.aborted) throw abortedError(what, signal);
    throw error;
  }
  if (signal?.aborted) throw abortedError(what, signal);
}

/** A timer cut short by `signal`. */
function sleepFor(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
