import type { Logger } from '../logger.js';

/** A source of time in epoch ms. */
interface TimeSource {
  now(): number;
}

/** What `auth.serverClock` has measured of the accounts server's clock: read-only, for monitoring. */
export interface ServerClockState {
  /** Added to this host's clock to get the accounts server's time, in ms (0 until measured). */
  readonly offsetMs: number;
  /** Responses with a usable `Date` header measured so far. */
  readonly samples: number;
}

/** A `Date` header further than this from the host's clock is taken for a broken proxy, not skew. */
const ABSURD_OFFSET_MS = 24 * 3_600_000;
/** Samples older than this, or beyond the newest few, no longer narrow the estimate (clocks drift). */
const SAMPLE_WINDOW_MS = 6 * 3_600_000;
const MAX_SAMPLES = 16;
/** A host that only reads tokens re-measures after this long; a failed first contact is retried after the shorter delay. */
const RESYNC_AFTER_MS = 3_600_000;
const RETRY_SYNC_AFTER_MS = 60_000;

interface Sample {
  /** Local time the response arrived. */
  readonly at: number;
  /** Bounds of the offset this one response allows. */
  readonly lo: number;
  readonly hi: number;
}

/**
 * This host's clock as the accounts server sees it. Every response of the accounts server carries
 * `Date` (1 s resolution), stamped between the moment the request left and the moment the answer
 * arrived here, so each response bounds the offset: `Date − received ≤ offset < Date + 1 s − sent`.
 * The recent bounds are intersected (NTP's interval idea, without its statistics); the estimate is
 * the value in that interval closest to 0, so a host in step with the server is never "corrected"
 * by the header's rounding. A sample that contradicts the others (the host's clock was stepped)
 * starts the interval afresh.
 *
 * Expiries computed on the corrected clock are in server time, so every host sharing a store
 * judges them alike whatever its own clock says.
 */
export class ServerClock implements TimeSource {
  readonly #local: TimeSource;
  readonly #log: Logger;
  #samples: Sample[] = [];
  #count = 0;
  #offsetMs = 0;
  /** The smallest offset the samples allow (= #offsetMs until measured). */
  #earliestOffsetMs = 0;
  #lastSyncAttempt = -Infinity;
  #syncing: Promise<void> | undefined;

  constructor(local: TimeSource, log: Logger) {
    this.#local = local;
    this.#log = log;
  }

  /** The accounts server's time now, as far as measured (this host's clock until then). */
  now(): number {
    return this.#local.now() + this.#offsetMs;
  }

  /**
   * The earliest the accounts server's time can be now (for a skewed host). Expiries are computed
   * from it: a response's `Date` is stamped no later than the token was minted, so a skewed host's
   * `earliest() + expires_in` never runs past Zoho's own expiry despite the header's 1 s rounding.
   */
  earliest(): number {
    return this.#local.now() + this.#earliestOffsetMs;
  }

  get state(): ServerClockState {
    return Object.freeze({ offsetMs: this.#offsetMs, samples: this.#count });
  }

  /** `fetchImpl` that measures every response it gets: hand it only requests to the accounts server. */
  measuring(fetchImpl: typeof fetch): typeof fetch {
    return async (input, init) => {
      const sent = this.#local.now();
      const response = await fetchImpl(input, init);
      this.record(response.headers.get('date'), sent, this.#local.now());
      return response;
    };
  }

  /** Takes one `Date` header received between local times `sent` and `received`; ignores unusable ones. */
  record(dateHeader: string | null, sent: number, received: number): void {
    if (dateHeader === null) return;
    const date = Date.parse(dateHeader);
    if (!Number.isFinite(date) || !(received >= sent)) return;
    const lo = date - received;
    const hi = date + 1000 - sent;
    if (Math.abs(lo) > ABSURD_OFFSET_MS || Math.abs(hi) > ABSURD_OFFSET_MS) {
      this.#log.warn(
        { date: dateHeader },
        'the accounts server sent an implausible Date header; ignored for clock skew',
      );
      return;
    }
    const fresh = this.#samples.filter((s) => received - s.at <= SAMPLE_WINDOW_MS).slice(-(MAX_SAMPLES - 1));
    fresh.push({ at: received, lo, hi });
    let kept = fresh;
    if (intersect(kept) === null) {
      this.#log.warn(
        { previousOffsetMs: this.#offsetMs },
        "this host's clock moved against the accounts server's; measuring its offset afresh",
      );
      kept = [kept[kept.length - 1]!];
    }
    this.#samples = kept;
    this.#count++;
    const [min, max] = intersect(kept)!;
    const offset = Math.min(max, Math.max(min, 0));
    if (Math.abs(offset - this.#offsetMs) >= 1000) {
      this.#log.info(
        { offsetMs: offset, samples: this.#count },
        "this host's clock differs from the accounts server's; expiries follow the server",
      );
    }
    this.#offsetMs = offset;
    // In step (0 fits the samples): no correction at all, as for `now()`; the residual (under 1 s plus
    // the round trip) is far inside the refresh margin.
    this.#earliestOffsetMs = offset === 0 ? 0 : min;
  }

  /** True when no response has been measured lately (or one is being measured), so a stored expiry cannot be judged yet. */
  needsSync(): boolean {
    // A measurement under way: callers wait for it (sync() joins it) rather than judge without it.
    if (this.#syncing !== undefined) return true;
    const last = this.#samples.at(-1)?.at;
    const now = this.#local.now();
    if (last !== undefined && now - last < RESYNC_AFTER_MS) return false;
    return now - this.#lastSyncAttempt >= RETRY_SYNC_AFTER_MS || now < this.#lastSyncAttempt;
  }

  /**
   * Measures with one cheap request (`HEAD` of the accounts server's origin, no credentials; tried
   * `attempts` times in a row, like a token request and its retries). Never throws: without an
   * answer the host keeps its current estimate and tries again later.
   */
  sync(origin: string, fetchImpl: typeof fetch, timeoutMs: number, attempts = 1): Promise<void> {
    this.#syncing ??= (async () => {
      this.#lastSyncAttempt = this.#local.now();
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          const response = await this.measuring(fetchImpl)(origin, {
            method: 'HEAD',
            redirect: 'manual',
            signal: AbortSignal.timeout(timeoutMs),
          });
          await response.body?.cancel();
          return;
        } catch (error) {
          if (attempt === attempts)
            this.#log.warn(
              { origin, err: error, attempts },
              'could not reach the accounts server to measure clock skew; using this host clock meanwhile',
            );
        }
      }
    })().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }
}

function intersect(samples: readonly Sample[]): [number, number] | null {
  let lo = -Infinity;
  let hi = Infinity;
  for (const s of samples) {
    lo = Math.max(lo, s.lo);
    hi = Math.min(hi, s.hi);
  }
  return lo <= hi ? [lo, hi] : null;
}
