/**
 * In-process single flight: while work for a key is running, every other caller for that key gets
 * the same promise instead of starting the work again. The key is free again once it settles, so
 * a failure is not cached.
 */
export class SingleFlight<K, V> {
  readonly #running = new Map<K, Promise<V>>();

  run(key: K, work: () => Promise<V>): Promise<V> {
    const running = this.#running.get(key);
    if (running !== undefined) return running;
    // Started in a microtask so even a synchronous throw lands in the shared promise, after it is registered.
    const promise: Promise<V> = Promise.resolve()
      .then(work)
      .finally(() => {
        if (this.#running.get(key) === promise) this.#running.delete(key);
      });
    this.#running.set(key, promise);
    return promise;
  }

  /** Resolves once every work running now has settled (whatever its outcome). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#running.values()]);
  }

  /** The work running for `key` now, if any. */
  running(key: K): Promise<V> | undefined {
    return this.#running.get(key);
  }
}
