/**
 * Time limits kept by undici itself for Node's own `fetch`: a dispatcher that forwards every
 * request to the global one with `headersTimeout` and `bodyTimeout` set. undici arms those timers
 * on every request anyway (300 s by default) and destroys the socket when one fires, so a limit
 * costs nothing per request: no AbortSignal (whose registration in undici costs a few % of a
 * request) and no timer of ours.
 */
import { isNodeFetch } from './light-abort.js';

/** undici's key for the global dispatcher, shared by Node's fetch and the undici package's `setGlobalDispatcher`. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/** Node's own fetch runs on undici, which takes the `dispatcher` option; Bun's and Deno's fetch ignore it. */
const UNDICI_FETCH =
  typeof process === 'object' &&
  typeof process.versions?.undici === 'string' &&
  process.versions.bun === undefined &&
  process.versions.deno === undefined;

/**
 * Below this our own timer keeps the limit: undici connects within its own connect timeout (10 s
 * by default), which no `headersTimeout` covers, and fires these timers on a half-second tick.
 * From 10 s up neither is out of proportion to the limit.
 */
export const MIN_SOCKET_TIMEOUT_MS = 10_000;

/** The codes of undici's errors for the two limits. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** What `fetch`'s non-standard `dispatcher` option is given: the part of undici's Dispatcher that fetch calls. */
export interface SocketTimeoutDispatcher {
  dispatch(options: { headersTimeout?: number; bodyTimeout?: number }, handler: unknown): boolean;
  readonly timeoutMs: number;
}

/**
 * A dispatcher that keeps `timeoutMs` (0: none) for the answer's headers and then between any
 * two chunks of its body, or undefined when `fetchFn` is not Node's own fetch or the limit is too
 * short for undici's timers (callers then keep the limit with a timer of their own). The global
 * dispatcher is looked up per request, so one the application installs (a proxy agent) still applies.
 */
export function socketTimeoutDispatcher(fetchFn: typeof fetch, timeoutMs: number): SocketTimeoutDispatcher | undefined {
  if (!UNDICI_FETCH || !isNodeFetch(fetchFn) || (timeoutMs > 0 && timeoutMs < MIN_SOCKET_TIMEOUT_MS)) return undefined;
  return {
    timeoutMs,
    dispatch(options, handler) {
      // A fresh options object per request, made by fetch: set, not copied, to allocate nothing.
      options.headersTimeout = timeoutMs;
      options.bodyTimeout = timeoutMs;
      const global = (globalThis as Record<symbol, { dispatch: SocketTimeoutDispatcher['dispatch'] } | undefined>)[
        GLOBAL_DISPATCHER
      ];
      if (global === undefined) throw new TypeError('no global undici dispatcher');
      return global.dispatch(options, handler);
    },
  };
}

/** Whether `error` (as fetch or a body read rejects, or its cause) is undici's headers or body timeout. */
export function isSocketTimeout(error: unknown): boolean {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 3; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
