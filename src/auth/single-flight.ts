import { ErrorCode, isZohoTokenError } from '../errors.js';

/** One running work and who waits for it. */
interface Flight<V> {
  promise: Promise<V>;
  /** Aborted once every caller that joined has given up (and none joined without a signal). */
  readonly controller: AbortController;
  /** Callers with a signal that has not fired yet. */
  waiting: number;
  /** A caller without a signal joined: the work is wanted to the end. */
  pinned: boolean;
}

/**
 * In-process single flight: while work for a key is running, every other caller for that key gets
 * the same promise instead of starting the work again. The key is free again once it settles, so
 * a failure is not cached.
 */
export class SingleFlight<K, V> {
  readonly #running = new Map<K, Flight<V>>();

  /**
   * Runs `work` for `key`, or joins the run in progress. `work` gets a signal that fires once every
   * caller has aborted its own `signal` (a caller without one keeps the work wanted): the work may
   * stop waiting then (e.g. for a lock), since nobody would take its result.
   */
  run(key: K, work: (signal: AbortSignal) => Promise<V>, signal?: AbortSignal): Promise<V> {
    let flight = this.#running.get(key);
    if (flight?.controller.signal.aborted === true) {
      // Given up by all its callers: it may still finish (past its wait), or fail for that reason,
      // which is not this caller's failure: then the work runs again for it.
      return flight.promise.catch((error: unknown) => {
        if (!isZohoTokenError(error, ErrorCode.ABORTED) || signal?.aborted === true) throw error;
        return this.run(key, work, signal);
      });
    }
    if (flight === undefined) {
      const controller = new AbortController();
      const started: Flight<V> = { promise: undefined as unknown as Promise<V>, controller, waiting: 0, pinned: false };
      // Started in a microtask so even a synchronous throw lands in the shared promise, after it is registered.
      started.promise = Promise.resolve()
        .then(() => work(controller.signal))
        .finally(() => {
          if (this.#running.get(key) === started) this.#running.delete(key);
        });
      this.#running.set(key, started);
      flight = started;
    }
    join(flight, signal);
    return flight.promise;
  }

  /** Resolves once every work running now has settled (whatever its outcome). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#running.values()].map((flight) => flight.promise));
  }

  /** The work running for `key` now, if any. */
  running(key: K): Promise<V> | undefined {
    return this.#running.get(key)?.promise;
  }
}

function join<V>(flight: Flight<V>, signal: AbortSignal | undefined): void {
  if (signal === undefined || flight.pinned) {
    flight.pinned = true;
    return;
  }
  if (signal.aborted) {
    if (flight.waiting === 0) flight.controller.abort(signal.reason);
    return;
  }
  flight.waiting++;
  const onAbort = (): void => {
    if (--flight.waiting === 0 && !flight.pinned) flight.controller.abort(signal.reason);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  // A long-lived signal must not keep one listener per flight it ever joined.
  flight.promise.then(
    () => signal.removeEventListener('abort', onAbort),
    () => signal.removeEventListener('abort', onAbort),
  );
}
