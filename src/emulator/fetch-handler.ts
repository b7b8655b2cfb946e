import { STATUS_CODES } from 'node:http';
import type { EmulatorCore } from './core.js';
import type { EmulatorReply } from './exchange.js';
import { handleRequest } from './handler.js';

/** The signature of `globalThis.fetch`, which `emu.fetch` implements. */
export type FetchFunction = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

// Statuses whose Response must have a null body (the Fetch standard).
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * `fetch` served in process by {@link handleRequest}: no socket, same routes, faults, stats and
 * observer as the listeners. `dcOf` maps a request's origin to the data center whose listener has
 * that URL (undefined: no such listener, or the emulator is closed).
 *
 * Fails as undici's fetch does: an unknown origin rejects with `TypeError: fetch failed` (cause
 * code `ECONNREFUSED`), a dropped connection with `TypeError: fetch failed` (cause code
 * `UND_ERR_SOCKET`), an aborted `signal` with its reason. Like a server whose client hung up, the
 * emulator still finishes a request the caller aborted (a refresh may be minted all the same).
 * Redirects come back as they are (302 with `location`), as with `redirect: 'manual'`.
 */
export function createFetch(core: EmulatorCore, dcOf: (origin: string) => string | undefined): FetchFunction {
  return async (input, init) => {
    const request = new Request(input, init);
    const { signal } = request;
    signal.throwIfAborted();
    const url = new URL(request.url);
    const dc = dcOf(url.origin);
    if (dc === undefined) throw fetchFailed(connectionRefused(url));
    const answered = handleRequest(core, dc, {
      method: request.method,
      target: url.pathname + url.search,
      header: (name) => request.headers.get(name) ?? undefined,
      body: request.body ?? undefined,
    });
    const reply = await untilAborted(answered, signal);
    if (reply.kind === 'drop') throw fetchFailed(socketClosed());
    return toResponse(reply, request);
  };
}

function toResponse(reply: Extract<EmulatorReply, { kind: 'answer' }>, request: Request): Response {
  const { status } = reply;
  // undici never hands back an interim (1xx) answer as the response: the connection ends first.
  if (status < 200 || status > 599) throw fetchFailed(socketClosed());
  if (status >= 300 && status < 400 && request.redirect === 'error') {
    throw fetchFailed(new Error('unexpected redirect'));
  }
  const nullBody = NULL_BODY.has(status) || request.method === 'HEAD';
  const response = new Response(nullBody ? null : reply.body, {
    status,
    statusText: STATUS_CODES[status] ?? '',
    headers: reply.headers,
  });
  // A fetched Response knows its URL; a constructed one does not.
  Object.defineProperty(response, 'url', { value: request.url });
  return response;
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts (the work goes on). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function fetchFailed(cause: Error): TypeError {
  return new TypeError('fetch failed', { cause });
}

/** What undici's cause looks like when nothing listens on the port. */
function connectionRefused(url: URL): Error {
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
  return Object.assign(
    new Error(`connect ECONNREFUSED ${url.hostname}:${port} (no emulator listener at ${url.origin})`),
    {
      code: 'ECONNREFUSED',
      syscall: 'connect',
      address: url.hostname,
      port: Number(port),
    },
  );
}

/** What undici's cause looks like when the server cuts the connection without an answer. */
function socketClosed(): Error {
  return Object.assign(new Error('other side closed'), { name: 'SocketError', code: 'UND_ERR_SOCKET' });
}
