/**
 * Time limits kept by undici itself for Node's own `fetch`: a dispatcher that forwards every
 * request to Node's global Agent with `headersTimeout` and `bodyTimeout` set. undici arms those timers
 * on every request anyway (300 s by default) and destroys the socket when one fires, so a limit
 * costs nothing per request: no AbortSignal (whose registration in undici costs a few % of a
 * request) and no timer of ours.
 */
import { isNodeFetch } from './light-abort.js';

/** undici's key for the global dispatcher, shared by Node's fetch and the undici package's `setGlobalDispatcher`. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/**
 * Node's own fetch runs on undici, which takes the `dispatcher` option (Bun's and Deno's fetch
 * ignore it); undici 6 and 7 (Node 20 to 24) read the global dispatcher under the key above.
 */
const UNDICI_FETCH =
  typeof process === 'object' &&
  /^[67]\./.test(process.versions?.undici ?? '') &&
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

/** The part of undici's Dispatcher that fetch calls. */
interface Dispatch {
  dispatch(options: { headersTimeout?: number; bodyTimeout?: number }, handler: unknown): boolean;
}

/** What `fetch`'s non-standard `dispatcher` option is given. */
export interface SocketTimeoutDispatcher extends Dispatch {
  readonly timeoutMs: number;
  /**
   * Whether the global dispatcher is still the Agent found when this was made: an application's
   * own (a proxy, whose tunnel these limits do not cover; a mock; an HTTP/2 agent, which has none
   * on undici 6) takes the caller's timer path instead.
   */
  inForce(): boolean;
}

function globalDispatcher(): (Dispatch & object) | undefined {
  return (globalThis as Record<symbol, (Dispatch & object) | undefined>)[GLOBAL_DISPATCHER];
}

/** One of undici's private fields, found by its symbol's description. */
function privateField(object: object, description: string): unknown {
  const key = Object.getOwnPropertySymbols(object).find((symbol) => symbol.description === description);
  return key === undefined ? undefined : (object as Record<symbol, unknown>)[key];
}

/**
 * Whether `agent` is an undici Agent made without options, as Node's default one is: its options
 * and factory are those of a fresh `new Agent()` of its class. One of the application's made with
 * some (`allowH2`, which has no timeouts on undici 6; a `connect` of its own, e.g. a SOCKS tunnel,
 * which no connect timeout bounds; a limit on connections, whose queue no headers timer covers)
 * or anything else (a proxy, a mock) is not; what cannot be read counts as not.
 */
function isPlainAgent(agent: object): boolean {
  if (agent.constructor?.name !== 'Agent') return false;
  let fresh: object;
  try {
    fresh = new (agent.constructor as new () => object)();
  } catch {
    return false;
  }
  const options = privateField(agent, 'options');
  const defaults = privateField(fresh, 'options');
  if (typeof options !== 'object' || options === null || typeof defaults !== 'object' || defaults === null)
    return false;
  const keys = Object.keys(options);
  return (
    privateField(agent, 'factory') === privateField(fresh, 'factory') &&
    keys.length === Object.keys(defaults).length &&
    keys.every((key) =>
      Object.is((options as Record<string, unknown>)[key], (defaults as Record<string, unknown>)[key]),
    )
  );
}

/**
 * A dispatcher that keeps `timeoutMs` for the answer's headers and then between any two chunks of
 * its body (0: undici's own defaults, 300 s each), or undefined when `fetchFn` is not Node's own
 * fetch, the limit is too short for undici's timers, or the global dispatcher is not an undici
 * Agent made without options ({@link isPlainAgent}; callers then keep the limit with a timer of
 * their own).
 */
export function socketTimeoutDispatcher(fetchFn: typeof fetch, timeoutMs: number): SocketTimeoutDispatcher | undefined {
  if (!UNDICI_FETCH || !isNodeFetch(fetchFn) || (timeoutMs > 0 && timeoutMs < MIN_SOCKET_TIMEOUT_MS)) return undefined;
  // Loads Node's undici (as a first fetch would), which installs its Agent unless the application already installed a dispatcher.
  void globalThis.Headers;
  const agent = globalDispatcher();
  if (agent === undefined || typeof agent.dispatch !== 'function' || !isPlainAgent(agent)) return undefined;
  return {
    timeoutMs,
    inForce: () => globalDispatcher() === agent,
    dispatch(options, handler) {
      // A fresh options object per request, made by fetch: set, not copied, to allocate nothing.
      if (timeoutMs > 0) {
        options.headersTimeout = timeoutMs;
        options.bodyTimeout = timeoutMs;
      }
      return agent.dispatch(options, handler);
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
