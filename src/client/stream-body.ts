import { Readable } from 'node:stream';
import { ErrorCode, ZohoTokenError } from '../errors.js';
import { sanitizeCause } from '../redact.js';

/** A request body read as it is sent: a web `ReadableStream`, a Node stream, any async iterable of chunks. */
export type StreamSource = ReadableStream<unknown> | AsyncIterable<unknown>;

/** A stream body on its way: what fetch reads, why it stopped early if it did, and how to stop it. */
export interface StreamBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** The typed error that cut the upload short (a bad chunk, the source's own failure), if any. */
  failure(): ZohoTokenError | undefined;
  /**
   * The request failed or was refused: the body errors (so fetch never ends it as if complete) and
   * the source, if read in part, is closed, a pending read included. A source never read is left
   * to the caller.
   */
  abandon(): void;
  /**
   * The answer came before the upload ended: the rest must end within `ms` (0: no limit) and
   * before `signal` fires, or it is abandoned.
   */
  finishWithin(ms: number, signal: AbortSignal | undefined): void;
}

/** Whether `value` is a body to send as a stream (checked after strings, bytes, Blobs and forms). */
export function isStreamSource(value: unknown): value is StreamSource {
  if (value instanceof ReadableStream) return true;
  if (typeof value !== 'object' || value === null) return false;
  try {
    return typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
  } catch {
    return false;
  }
}

/** An old-style stream (`pipe` but no async iteration, e.g. the form-data package's): not sendable as is. */
export function isLegacyStream(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { pipe?: unknown }).pipe === 'function';
}

/**
 * `source` as bytes for fetch. Strings are sent as UTF-8 and any binary chunk as its bytes (Node's
 * fetch fails a web stream's string chunk with a bare "Received non-Uint8Array chunk"); anything
 * else fails the upload as INVALID_ARGUMENT. Nothing is read before fetch asks (no read-ahead).
 *
 * @throws {@link ZohoTokenError} `INVALID_ARGUMENT` (field `body`) for a stream already read, in
 *   part or whole, or locked to another reader: it would go out short or empty.
 */
export function streamBody(source: StreamSource): StreamBody {
  if (isUsed(source)) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      'body: the stream was already read (in part or whole) or is locked to a reader; pass a fresh one',
      { field: 'body' },
    );
  }
  const encoder = new TextEncoder();
  let reader: ReadableStreamDefaultReader<unknown> | undefined;
  let iterator: AsyncIterator<unknown> | undefined;
  let body: ReadableStreamDefaultController<Uint8Array> | undefined;
  let failure: ZohoTokenError | undefined;
  let ended = false;
  /** Undoes {@link StreamBody.finishWithin}'s timer and listener once the upload ends. */
  let unbound: (() => void) | undefined;
  const end = (): void => {
    ended = true;
    unbound?.();
    unbound = undefined;
  };
  const read = (): Promise<IteratorResult<unknown>> => {
    if (source instanceof ReadableStream)
      return (reader ??= source.getReader()).read() as Promise<IteratorResult<unknown>>;
    return (iterator ??= source[Symbol.asyncIterator]()).next();
  };
  const closeSource = (reason: unknown): void => {
    const ignore = (): undefined => undefined;
    // A pending read must end too: a reader's cancel() and a Node stream's destroy() settle it; return() alone would wait for it.
    if (reader !== undefined) void reader.cancel(reason).catch(ignore);
    if (iterator === undefined) return;
    const it = iterator;
    const destroy = (source as { destroy?: unknown }).destroy;
    try {
      if (typeof destroy === 'function') destroy.call(source);
    } catch {
      // Closing is best effort: the request's own outcome is what the caller sees.
    }
    void Promise.resolve()
      .then(() => it.return?.())
      .catch(ignore);
  };
  const fail = (message: string, cause?: Error): void => {
    end();
    failure = new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, message, {
      field: 'body',
      ...(cause === undefined ? {} : { cause }),
    });
    body?.error(failure);
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        body = controller;
      },
      async pull(controller) {
        let next: IteratorResult<unknown>;
        try {
          next = await read();
        } catch (error) {
          if (ended) return; // abandoned meanwhile: that is the request's failure, not the source's
          const cause = sanitizeCause(error, []);
          fail(`body: the stream failed while it was sent: ${cause.message}`, cause);
          return;
        }
        if (ended) return;
        if (next.done === true) {
          end();
          controller.close();
        } else if (typeof next.value === 'string') controller.enqueue(encoder.encode(next.value));
        else if (next.value instanceof Uint8Array) controller.enqueue(next.value);
        else if (next.value instanceof ArrayBuffer) controller.enqueue(new Uint8Array(next.value));
        else if (ArrayBuffer.isView(next.value))
          controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
        else {
          fail('body: a stream chunk must be bytes or a string');
          closeSource(failure);
        }
      },
      cancel(reason) {
        if (ended) return;
        end();
        closeSource(reason);
      },
    },
    { highWaterMark: 0 },
  );
  const abandon = (): void => {
    if (ended) return;
    end();
    try {
      body?.error(new Error('the request ended before its body was sent'));
    } catch {
      // Already closed or errored by fetch.
    }
    closeSource(undefined);
  };
  const finishWithin = (ms: number, signal: AbortSignal | undefined): void => {
    if (ended || unbound !== undefined) return;
    if (signal?.aborted === true) return abandon();
    const timer = ms > 0 ? setTimeout(abandon, ms) : undefined;
    timer?.unref(); // an upload left to finish must not keep the process alive
    signal?.addEventListener('abort', abandon, { once: true });
    unbound = () => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', abandon);
    };
  };
  return { stream, failure: () => failure, abandon, finishWithin };
}

/** Read before (in part or whole), ended, destroyed or locked: what would go out is not the whole stream. */
function isUsed(source: StreamSource): boolean {
  if (source instanceof ReadableStream) return source.locked || Readable.isDisturbed(source as never);
  const node = source as { readableEnded?: unknown; destroyed?: unknown; readableDidRead?: unknown };
  return node.readableEnded === true || node.destroyed === true || node.readableDidRead === true;
}
