import { ErrorCode, ZohoTokenError } from '../errors.js';
import { sanitizeCause } from '../redact.js';

/** A request body read as it is sent: a web `ReadableStream` or a Node stream (any async iterable of chunks). */
export type StreamSource = ReadableStream<unknown> | AsyncIterable<unknown>;

/** A stream body on its way: what fetch reads, and why it stopped early if it did. */
export interface StreamBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** The typed error that cut the upload short (a bad chunk, the source's own failure), if any. */
  failure(): ZohoTokenError | undefined;
  /**
   * Closes the source (`return()`) when it was read in part: fetch stopped (an abort, a timeout, an
   * answer before the end), and would leave it open. A source never read is left to the caller.
   */
  close(): void;
}

/** Whether `value` is a body to send as a stream (checked after strings, bytes, Blobs and forms). */
export function isStreamSource(value: unknown): value is StreamSource {
  return (
    value instanceof ReadableStream ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function')
  );
}

/**
 * `source` as bytes for fetch. Strings are sent as UTF-8 and any binary chunk as its bytes (Node's
 * fetch fails a web stream's string chunk with a bare "Received non-Uint8Array chunk"); anything
 * else fails the upload as INVALID_ARGUMENT. The source is read only as fetch pulls, and closed
 * (`return()`) when the request ends before it does.
 */
export function streamBody(source: StreamSource): StreamBody {
  const encoder = new TextEncoder();
  let iterator: AsyncIterator<unknown> | undefined;
  let failure: ZohoTokenError | undefined;
  let ended = false;
  const end = (): void => {
    if (ended || iterator === undefined) return;
    ended = true;
    const source = iterator;
    // The source's own failure to close is the caller's to see on the source, not the request's.
    void Promise.resolve()
      .then(() => source.return?.())
      .catch(() => undefined);
  };
  const fail = (message: string, cause?: Error): ZohoTokenError => {
    failure = new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, message, {
      field: 'body',
      ...(cause === undefined ? {} : { cause }),
    });
    return failure;
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let next: IteratorResult<unknown>;
      try {
        iterator ??= (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
        next = await iterator.next();
      } catch (error) {
        ended = true;
        const cause = sanitizeCause(error, []);
        controller.error(fail(`body: the stream failed while it was sent: ${cause.message}`, cause));
        return;
      }
      if (next.done === true) {
        ended = true;
        controller.close();
      } else if (typeof next.value === 'string') controller.enqueue(encoder.encode(next.value));
      else if (next.value instanceof Uint8Array) controller.enqueue(next.value);
      else if (next.value instanceof ArrayBuffer) controller.enqueue(new Uint8Array(next.value));
      else if (ArrayBuffer.isView(next.value))
        controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
      else {
        controller.error(fail('body: a stream chunk must be bytes or a string'));
        end();
      }
    },
    cancel: end,
  });
  return { stream, failure: () => failure, close: end };
}
