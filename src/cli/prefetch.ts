/**
 * Runs an async iterable one step ahead: while the consumer works on an item, the next one is
 * already being produced (a page read from one store while the previous page is written to the
 * other). At most one item waits, so memory stays that of two items.
 */
export async function* prefetch<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  try {
    for (;;) {
      const result = await next;
      if (result.done) return;
      next = iterator.next();
      // A failure of the item being fetched is reported when it is reached, not before.
      next.catch(() => {});
      yield result.value;
    }
  } finally {
    await iterator.return?.();
  }
}

/** Maps each item of an async iterable through an async function, in order. */
export async function* mapAsync<T, U>(source: AsyncIterable<T>, map: (item: T) => Promise<U>): AsyncGenerator<U> {
  for await (const item of source) yield await map(item);
}
