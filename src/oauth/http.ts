import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCode, ZohoTokenError } from '../errors.js';
import type { HttpExchangeLimits, HttpExchangeRequest } from '../http/http-exchange.js';
import { abortedError, attemptExchange, networkError, readBuffered } from '../http/http-exchange.js';

/** Transport options shared by every call to Zoho's accounts server. All are optional. */
export interface OAuthRequestOptions {
  /**
   * The `fetch` implementation (a proxy agent, a test double).
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
  /**
   * Time limit of ONE attempt in ms, from sending the request until the whole body is read.
   * @default 10_000
   */
  timeoutMs?: number;
  /**
   * Extra attempts after a network error, a timeout or an HTTP 5xx. Never used for an HTTP 200
   * error body or a 4xx: those are answers, and repeating them only burns Zoho's rate limits.
   * @default 2
   */
  retries?: number;
  /**
   * Base backoff delay in ms. Before retry number `n` (0-based) the delay is drawn uniformly from
   * `[0, min(maxBackoffMs, backoffMs * 2 ** n))` ("full jitter"), so parallel clients spread out.
   * @default 200
   */
  backoffMs?: number;
  /**
   * Upper bound of the backoff window in ms.
   * @default 5_000
   */
  maxBackoffMs?: number;
  /**
   * Source of randomness in `[0, 1)` for the jitter (tests inject a constant).
   * @default Math.random
   */
  random?: () => number;
  /**
   * Waits between attempts (tests inject an instant one).
   * @default a timer that is cancelled by `signal`
   */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Clock in epoch ms, read when a token response arrives to compute the absolute `expiresAt`.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Caller cancellation: aborts the current attempt and stops retrying (the error is `ABORTED`).
   * @default undefined
   */
  signal?: AbortSignal;
  /**
   * Wait suggested by a `THROTTLED` error when the server sends no `Retry-After` header (Zoho never
   * does). Zoho's mint limit counts over 10 minutes, but its block usually lifts sooner.
   * @default 60_000
   */
  throttleRetryAfterMs?: number;
}

/** Default of {@link OAuthRequestOptions.timeoutMs}: 10 s per attempt. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Default of {@link OAuthRequestOptions.retries}: 2 extra attempts. */
export const DEFAULT_RETRIES = 2;
/** Default of {@link OAuthRequestOptions.backoffMs}: 200 ms. */
export const DEFAULT_BACKOFF_MS = 200;
/** Default of {@link OAuthRequestOptions.maxBackoffMs}: 5 s. */
export const DEFAULT_MAX_BACKOFF_MS = 5_000;

/** Options after defaults and validation. */
export interface ResolvedRequestOptions {
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly signal: AbortSignal | undefined;
}

/** One POST to the accounts server. `secrets` are scrubbed from any error this request causes. */
export interface HttpRequest {
  readonly url: URL;
  readonly body: URLSearchParams;
  readonly secrets: readonly string[];
  /**
   * False for a request that must not reach the server twice (a single-use grant code): it is
   * retried only when the connection was never made, never after a timeout, reset or 5xx.
   * @default true
   */
  readonly resendable?: boolean;
}

/** Errors raised before a request could reach the server: a retry cannot make it arrive twice. */
const NEVER_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function neverSent(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NEVER_SENT.has(code)) return true;
  }
  return false;
}

export function resolveRequestOptions(options: OAuthRequestOptions = {}): ResolvedRequestOptions {
  const signal = options.signal;
  const resolved: ResolvedRequestOptions = {
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retries: options.retries ?? DEFAULT_RETRIES,
    backoffMs: options.backoffMs ?? DEFAULT_BACKOFF_MS,
    maxBackoffMs: options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? ((ms) => delay(ms, undefined, signal ? { signal } : undefined)),
    signal,
  };
  requireNumber('timeoutMs', resolved.timeoutMs, resolved.timeoutMs > 0 && resolved.timeoutMs <= 2 ** 31 - 1);
  requireNumber('retries', resolved.retries, Number.isInteger(resolved.retries) && resolved.retries >= 0);
  requireNumber('backoffMs', resolved.backoffMs, resolved.backoffMs >= 0);
  requireNumber('maxBackoffMs', resolved.maxBackoffMs, resolved.maxBackoffMs >= 0);
  if (typeof resolved.fetch !== 'function') {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'No fetch implementation: pass options.fetch', {
      field: 'fetch',
    });
  }
  return resolved;
}

function requireNumber(field: string, value: number, ok: boolean): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `options.${field} is out of range: ${String(value)}`, {
      field,
    });
  }
}

/**
 * `{accountsUrl}{path}` as a URL, refusing anything but http(s). The accounts URL comes from
 * configuration or a redirect, so it is checked before any secret is sent to it.
 */
export function accountsEndpoint(accountsUrl: string, path: string): URL {
  let url: URL | undefined;
  try {
    url = typeof accountsUrl === 'string' ? new URL(`${accountsUrl.replace(/\/+$/, '')}${path}`) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'accountsUrl must be an http(s) URL without credentials', {
      field: 'accountsUrl',
    });
  }
  return url;
}

/** Full jitter: uniform in [0, min(cap, base * 2^attempt)). */
export function backoffDelay(
  attempt: number,
  o: Pick<ResolvedRequestOptions, 'backoffMs' | 'maxBackoffMs' | 'random'>,
): number {
  const window = Math.min(o.maxBackoffMs, o.backoffMs * 2 ** attempt);
  return Math.floor(o.random() * window);
}

/**
 * POSTs a urlencoded form, retrying network errors, timeouts and 5xx with backoff. Returns the
 * last Response (a 5xx once retries are exhausted: classifying it is the caller's job); throws
 * `NETWORK` when no attempt got an answer or the caller aborted.
 *
 * The body is read inside the attempt, so the timeout covers a server that stalls mid-body and a
 * dropped body counts as a network error; the returned Response is a buffered copy.
 */
export async function postFormWithRetry(request: HttpRequest, options?: OAuthRequestOptions): Promise<Response> {
  const o = resolveRequestOptions(options);
  const resendable = request.resendable !== false;
  const exchange: HttpExchangeRequest = {
    method: 'POST',
    url: request.url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: request.body.toString(),
    secrets: request.secrets,
  };
  const limits: HttpExchangeLimits = { fetch: o.fetch, timeoutMs: o.timeoutMs, signal: o.signal };
  for (let attempt = 0; ; attempt++) {
    if (o.signal?.aborted) throw abortedError(exchange, o.signal);
    try {
      const response = await attemptExchange(exchange, limits, readBuffered);
      if (response.status < 500 || attempt >= o.retries || !resendable) return response;
    } catch (error) {
      if (o.signal?.aborted) throw abortedError(exchange, o.signal);
      if (attempt >= o.retries || (!resendable && !neverSent(error))) throw networkError(exchange, error, attempt + 1);
    }
    try {
      await o.sleep(backoffDelay(attempt, o));
    } catch (error) {
      if (o.signal?.aborted) throw abortedError(exchange, o.signal);
      throw error;
    }
  }
}
