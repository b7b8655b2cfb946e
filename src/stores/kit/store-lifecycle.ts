import type { StoreErrors } from './store-errors.js';

/**
 * The one lifecycle every store follows: calls are refused with STORE_CLOSED once `close()` has
 * begun; `close()` is idempotent, waits for the calls already running (their outcome is theirs),
 * then releases what the store opened, once.
 */
export class StoreLifecycle {
  readonly #errors: StoreErrors;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  constructor(errors: StoreErrors) {
    this.#errors = errors;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  assertOpen(): void {
    if (this.#closing !== undefined) throw this.#errors.closed();
  }

  /** Runs one call of the store, so that `close()` waits for it; after `close()`, a STORE_CLOSED rejection. */
  run<T>(call: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(this.#errors.closed());
    const running = call();
    this.#inFlight.add(running);
    const forget = (): void => void this.#inFlight.delete(running);
    running.then(forget, forget);
    return running;
  }

  /** Closes once: waits for the calls in flight, then runs `release` (what the store opened). */
  close(release: () => Promise<void> | void = () => {}): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      await release();
    })();
    return this.#closing;
  }
}

/** `store` once its `ready()` resolved; when that fails, the store is closed and the error thrown. */
export async function readyStore<T extends { ready?(): Promise<void>; close(): Promise<void> }>(store: T): Promise<T> {
  try {
    await store.ready?.();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}
