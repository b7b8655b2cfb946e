/**
 * A cancel handle for Node's own `fetch` that costs next to nothing to create. On Node 20 every
 * `new AbortController()` makes its signal transferable (`makeTransferable`), a fifth of a cached
 * API call's CPU; undici, which runs Node's `fetch`, accepts any object shaped like an AbortSignal
 * (`aborted`, `reason`, `addEventListener`, as polyfills are) and follows it. Used only once a
 * probe has shown that the running `fetch` does follow it; otherwise a real AbortController.
 */

/** What a request needs of a controller: its signal for `fetch`, and `abort`. */
export interface Canceller {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}

type AbortListener = (this: LightSignal, event: { type: 'abort'; target: LightSignal }) => void;

const NONE: readonly AbortListener[] = Object.freeze([]);

/** The signal: abort listeners are called with `this` the signal, as an EventTarget would. */
class LightSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: null = null;
  #listeners: AbortListener[] | undefined;
  /**
   * undici asks `events.getMaxListeners` / `getEventListeners` about the signal to raise its limit;
   * answering as an EventEmitter would (instead of letting them throw) keeps an exception, stack
   * trace and all, off every request.
   */
  readonly _maxListeners = 1500;

  getMaxListeners(): number {
    return this._maxListeners;
  }

  listeners(): readonly AbortListener[] {
    return this.#listeners ?? NONE;
  }

  addEventListener(type: string, listener: AbortListener): void {
    if (type !== 'abort' || typeof listener !== 'function') return;
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(type: string, listener: AbortListener): void {
    const listeners = this.#listeners;
    if (type !== 'abort' || listeners === undefined) return;
    const at = listeners.indexOf(listener);
    if (at >= 0) listeners.splice(at, 1);
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  fire(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners === undefined) return;
    const event = { type: 'abort' as const, target: this };
    for (const listener of listeners) {
      try {
        listener.call(this, event);
      } catch {
        // A listener's failure must not stop the others (as with EventTarget).
      }
    }
  }
}

/** A controller whose signal only Node's own fetch follows: see {@link isLight}. */
export class LightController implements Canceller {
  readonly #signal = new LightSignal();
  get signal(): AbortSignal {
    return this.#signal as unknown as AbortSignal;
  }
  abort(reason?: unknown): void {
    this.#signal.fire(reason);
  }
}

const NODE_FETCH: typeof fetch | undefined = globalThis.fetch;
let followsLight: boolean | undefined;

/** Whether `globalThis.fetch` follows a {@link LightSignal}: a Request built with one aborts with it. */
function probe(): boolean {
  try {
    const controller = new LightController();
    const request = new Request('http://127.0.0.1/', { signal: controller.signal });
    controller.abort(new Error('probe'));
    return request.signal.aborted;
  } catch {
    return false;
  }
}

/** Whether `fetchFn` is Node's own fetch as this module found it at load (not a mock or polyfill put on globalThis later). */
export function isNodeFetch(fetchFn: typeof fetch): boolean {
  return fetchFn === NODE_FETCH;
}

/** Whether `controller` is a light one (its fetch is Node's own, which really aborts on it). */
export function isLight(controller: Canceller | undefined): controller is LightController {
  return controller instanceof LightController;
}

/**
 * A controller for one request sent with `fetchFn`: the light one for Node's own fetch (once the
 * probe passed), a real AbortController for any other fetch (it may check the signal's class).
 */
export function newCanceller(fetchFn: typeof fetch): Canceller {
  // Node's own fetch as this module found it: a fetch installed on globalThis later (a mock, a
  // polyfill) may check the signal's class or ignore it, so it gets a real AbortController.
  if (isNodeFetch(fetchFn) && (followsLight ??= probe())) return new LightController();
  return new AbortController();
}
