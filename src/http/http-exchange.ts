import { abortedError as abortedBy } from '../abort.js';
import { ErrorCode, ZohoTokenError } from '../errors.js';
import { sanitizeCause, scrubText } from '../redact.js';
import { arm, disarm, timeoutError } from './deadlines.js';
import { isLight, newCanceller, type Canceller, type LightController } from './light-abort.js';
import { isSocketTimeout, type SocketTimeoutDispatcher } from './socket-timeouts.js';

/** One HTTP request. `secrets` (tokens, client secrets) are scrubbed from any error it causes. */
export interface HttpExchangeRequest {
  readonly method: string;
  readonly url: string | URL;
  readonly headers: Record<string, string>;
  /**
   * A body fetch can send again as it is, or a `ReadableStream`, which fetch reads once: whoever
   * passes one must not send the request again.
   */
  readonly body?:
    string | FormData | URLSearchParams | Blob | ArrayBuffer | ArrayBufferView | ReadableStream<Uint8Array> | undefined;
  readonly secrets: readonly string[];
}

/** How one attempt is bounded. */
export interface HttpExchangeLimits {
  readonly fetch: typeof fetch;
  /** Time limit in ms from sending the request until the body is read; 0 disables it. */
  readonly timeoutMs: number;
  /** Caller cancellation: really aborts the request. */
  readonly signal?: AbortSignal | undefined;
  /**
   * What a timeout does to the request: `'abort'` closes it (the socket is freed at once);
   * `'abandon'` leaves it to settle unobserved and hands `fetch` no signal of ours, since creating
   * one costs undici 5-10% of a request's time (the socket is freed when the server answers or
   * undici's own timeouts fire).
   * @default 'abort'
   */
  readonly onTimeout?: 'abort' | 'abandon';
  /**
   * The caller reads the body after `read` resolved (a stream handed out): fetch gets
   * `AbortSignal.any([signal, ours])`, so the caller's `signal` still cancels the body, and no
   * listener of ours stays on it (a long-lived signal would collect one per request).
   */
  readonly bodyOutlivesRead?: boolean;
  /**
   * undici keeps `timeoutMs` (for the headers, then between body chunks) through this dispatcher
   * of Node's own fetch ({@link socketTimeoutDispatcher}), instead of one timer for the whole
   * exchange, while it is {@link SocketTimeoutDispatcher.inForce}. Not used when the body
   * outlives the read (a slow reader would be cut).
   */
  readonly dispatcher?: SocketTimeoutDispatcher | undefined;
}

/** What {@link readText} keeps of a response. */
export interface TextAnswer {
  readonly status: number;
  readonly text: string;
}

/** Reads status and body text (the cheap reader). */
export async function readText(response: Response): Promise<TextAnswer> {
  return { status: response.status, text: await response.text() };
}

/** Reads the whole body into a buffered copy of the Response, so a later read cannot stall. */
export async function readBuffered(response: Response): Promise<Response> {
  const bytes = await response.arrayBuffer();
  const nullBody = [101, 204, 205, 304].includes(response.status);
  return new Response(nullBody ? null : bytes, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/**
 * ONE attempt: sends `request` and runs `read` on the response, both inside the time limit, so a
 * server that stalls mid-body times out too. The request is raced against the time limit and the
 * caller's signal, so a `fetch` that ignores its signal still stops. Rejects with the raw failure
 * (a `TimeoutError`, the caller's abort reason, or fetch's own error): callers that retry need it
 * unmapped; {@link httpExchange} maps it.
 */
export function attemptExchange<T>(
  request: HttpExchangeRequest,
  limits: HttpExchangeLimits,
  read: (response: Response) => Promise<T>,
  controller: Canceller | undefined = limits.onTimeout === 'abandon' ? undefined : newCanceller(limits.fetch),
): Promise<T> {
  const { timeoutMs, signal } = limits;
  const init = requestInit(request);
  const fetchSignal =
    controller !== undefined && signal !== undefined && limits.bodyOutlivesRead === true
      ? AbortSignal.any([signal, controller.signal])
      : (controller?.signal ?? signal);
  if (fetchSignal !== undefined) init.signal = fetchSignal;
  // One promise and at most one timer (cheaper than Promise.race); an abandoned exchange settles into the void.
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      done();
      controller?.abort(signal!.reason);
      reject(signal!.reason);
    };
    if (signal !== undefined) {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
    }
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        done();
        const error = timeoutError(timeoutMs);
        controller?.abort(error);
        reject(error);
      }, timeoutMs);
    }
    let exchange: Promise<T>;
    try {
      exchange = limits.fetch(request.url, init).then(read);
    } catch (error) {
      done();
      reject(error);
      return;
    }
    exchange.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}

/**
 * One attempt ({@link attemptExchange}) whose failures are typed: `NETWORK` for a network error or
 * a timeout ("got no answer"), `ABORTED` for a caller's abort ("was aborted by the caller").
 */
export function httpExchange<T>(
  request: HttpExchangeRequest,
  limits: HttpExchangeLimits,
  read: (response: Response) => Promise<T>,
): Promise<T> {
  // Not async itself: the hot path's promise is the exchange's own, not one wrapped around it.
  if (limits.dispatcher?.inForce() === true && limits.bodyOutlivesRead !== true)
    return socketExchange(request, limits, read, limits.dispatcher);
  // A body read after the exchange needs a real signal (AbortSignal.any), not the light one.
  const controller =
    limits.onTimeout === 'abandon'
      ? undefined
      : limits.bodyOutlivesRead === true && limits.signal !== undefined
        ? new AbortController()
        : newCanceller(limits.fetch);
  if (isLight(controller)) return lightExchange(request, limits, read, controller);
  return racedExchange(request, limits, read, controller);
}

/** {@link attemptExchange} with its failures typed. */
async function racedExchange<T>(
  request: HttpExchangeRequest,
  limits: HttpExchangeLimits,
  read: (response: Response) => Promise<T>,
  controller: Canceller | undefined,
): Promise<T> {
  try {
    return await attemptExchange(request, limits, read, controller);
  } catch (error) {
    if (limits.signal?.aborted) throw abortedError(request, limits.signal);
    throw networkError(request, error);
  }
}

/**
 * The same with Node's own fetch, which really aborts on the light signal: no race is needed, so
 * no promise or closure of ours per request (the API hot path); the timer and the caller's
 * signal abort the fetch, and it rejects with their reason.
 */
async function lightExchange<T>(
  request: HttpExchangeRequest,
  limits: HttpExchangeLimits,
  read: (response: Response) => Promise<T>,
  controller: LightController,
): Promise<T> {
  const { timeoutMs, signal } = limits;
  if (signal?.aborted) throw abortedError(request, signal);
  const init = requestInit(request);
  init.signal = controller.signal;
  const deadline = timeoutMs > 0 ? arm(controller, timeoutMs) : undefined;
  const link = signal === undefined ? undefined : new SignalLink(signal, controller);
  try {
    return await read(await limits.fetch(request.url, init));
  } catch (error) {
    if (signal?.aborted) throw abortedError(request, signal);
    throw networkError(request, error);
  } finally {
    if (deadline !== undefined) disarm(deadline);
    // With a caller's signal, a body read later never takes this path (see httpExchange).
    link?.unlink();
  }
}

/**
 * The same with undici keeping the time limit (the API hot path): without a caller's signal fetch
 * gets no signal at all, so undici registers nothing per request; a caller's signal reaches fetch
 * through a light one of ours, so no listener of undici's stays on a long-lived signal until GC.
 */
async function socketExchange<T>(
  request: HttpExchangeRequest,
  limits: HttpExchangeLimits,
  read: (response: Response) => Promise<T>,
  dispatcher: SocketTimeoutDispatcher,
): Promise<T> {
  const { signal } = limits;
  if (signal?.aborted) throw abortedError(request, signal);
  // `dispatcher` is Node's fetch's own option, typed there as undici's whole Dispatcher class.
  const init = { headers: request.headers, dispatcher } as unknown as RequestInit;
  if (request.method !== 'GET') init.method = request.method;
  if (request.body !== undefined) setBody(init, request.body);
  let link: SignalLink | undefined;
  if (signal !== undefined) {
    const controller = newCanceller(limits.fetch);
    init.signal = controller.signal;
    link = new SignalLink(signal, controller);
  }
  try {
    return await read(await limits.fetch(request.url, init));
  } catch (error) {
    if (signal?.aborted) throw abortedError(request, signal);
    // With timeoutMs 0 a timeout is undici's own (300 s): its message says so.
    const ours = dispatcher.timeoutMs > 0 && isSocketTimeout(error);
    throw networkError(request, ours ? timeoutError(dispatcher.timeoutMs) : error);
  } finally {
    link?.unlink();
  }
}

function requestInit(request: HttpExchangeRequest): RequestInit {
  const init: RequestInit = { method: request.method, headers: request.headers };
  if (request.body !== undefined) setBody(init, request.body);
  return init;
}

function setBody(init: RequestInit, body: NonNullable<HttpExchangeRequest['body']>): void {
  // Every typed array is a valid body for fetch; Node 20's BodyInit type lists only some of them.
  init.body = body as RequestInit['body'];
  if (body instanceof ReadableStream) {
    // fetch sends a stream only when told it may still be sending while the answer comes (Node's rule).
    (init as { duplex?: string }).duplex = 'half';
    // A redirect would need the body again: the 3xx is the answer (fetch would fail with an empty message).
    init.redirect = 'manual';
  }
}

/** The caller's signal aborting one request (a function listener: polyfilled signals take no objects). */
class SignalLink {
  readonly #signal: AbortSignal;
  readonly #onAbort: () => void;
  constructor(signal: AbortSignal, controller: Canceller) {
    this.#signal = signal;
    this.#onAbort = () => controller.abort(signal.reason);
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }
  unlink(): void {
    this.#signal.removeEventListener('abort', this.#onAbort);
  }
}

/** Method, origin and path only: never a query string or credentials in a message. */
export function describeTarget(request: Pick<HttpExchangeRequest, 'method' | 'url'>): string {
  const url = request.url;
  if (url instanceof URL) return `${request.method} ${url.origin}${url.pathname}`;
  const end = url.search(/[?#]/);
  return `${request.method} ${end === -1 ? url : url.slice(0, end)}`;
}

/** undici wraps the useful error (ECONNRESET, ECONNREFUSED…) as the `cause` of "fetch failed". */
function innermostError(error: unknown): unknown {
  return error instanceof TypeError && error.cause instanceof Error ? error.cause : error;
}

/**
 * `NETWORK`: the request got no answer (network error or timeout). `attempts` is named in the
 * message when given. The cause is the innermost useful error, without secrets.
 */
export function networkError(
  request: Pick<HttpExchangeRequest, 'method' | 'url' | 'secrets'>,
  error: unknown,
  attempts?: number,
): ZohoTokenError {
  const cause = sanitizeCause(innermostError(error), request.secrets);
  const after = attempts === undefined ? '' : ` after ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}`;
  return new ZohoTokenError(
    ErrorCode.NETWORK,
    `${describeTarget(request)} got no answer${after}: ${scrubText(cause.message, request.secrets)}`,
    { cause },
  );
}

/** `NETWORK`: the caller aborted the request. */
export function abortedError(
  request: Pick<HttpExchangeRequest, 'method' | 'url' | 'secrets'>,
  signal: AbortSignal,
): ZohoTokenError {
  return abortedBy(describeTarget(request), signal, request.secrets);
}

/**
 * `API_ERROR` for a Zoho CRM answer outside 2xx: `status`, `apiCode` (Zoho's `code`) and Zoho's
 * message, both cut short and without secrets; Zoho's parsed body is attached non-enumerably.
 * `what` names the call in the message (e.g. `GET /crm/v8/org`).
 */
export function apiError(
  what: string,
  { status, text }: TextAnswer,
  secrets: readonly string[],
  cause?: unknown,
): ZohoTokenError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  let fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  // Record-level failures (`{"data":[{"code":…}]}`) have no top-level code: report the first record's.
  if (
    fields.code === undefined &&
    Array.isArray(fields.data) &&
    typeof fields.data[0] === 'object' &&
    fields.data[0] !== null
  ) {
    fields = fields.data[0] as Record<string, unknown>;
  }
  const apiCode = typeof fields.code === 'string' ? scrubText(fields.code.slice(0, 100), secrets) : undefined;
  const message = typeof fields.message === 'string' ? scrubText(fields.message.slice(0, 300), secrets) : undefined;
  const detail = [apiCode, message].filter(Boolean).join(': ');
  return new ZohoTokenError(ErrorCode.API_ERROR, `${what} answered HTTP ${status}${detail ? ` ${detail}` : ''}`, {
    status,
    apiCode,
    // Zoho's body, non-enumerable (never in logs or JSON); `details` often names the bad field.
    response: body,
    ...(cause === undefined ? {} : { cause }),
  });
}
