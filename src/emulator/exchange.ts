import { pageCsp } from './consent-page.js';

/**
 * What one request and its answer look like to the emulator's routes, whichever transport carried
 * them: the `node:http` listener (node-listener.ts) and `emu.fetch` (fetch-handler.ts) both adapt
 * to these, so every route is written once.
 */

/** One request, as read off a socket or taken from a `Request`. */
export interface EmulatorRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Path and query, e.g. `/oauth/v2/token?grant_type=refresh_token`. */
  readonly target: string;
  /** One header's value (names are case-insensitive), or undefined when absent. */
  header(name: string): string | undefined;
  /** The body as it arrives; read once by the handler, which stops at `maxBodyBytes`. */
  readonly body: AsyncIterable<Uint8Array> | undefined;
}

/**
 * The emulator's answer: a complete response (body in memory; HEAD and null-body statuses are the
 * transport's business), or `drop`: the connection is cut without an answer (an injected `reset`
 * fault, or the emulator closing while the request waited).
 */
export type EmulatorReply =
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: Buffer;
    }
  | { readonly kind: 'drop' };

/** The connection is cut without an answer. */
export const DROP: EmulatorReply = Object.freeze({ kind: 'drop' });

// Zoho marks every OAuth and API answer uncacheable.
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

/** A JSON answer, with the content type Zoho sends. */
export function json(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): EmulatorReply {
  return answer(status, 'application/json;charset=UTF-8', Buffer.from(JSON.stringify(body), 'utf8'), headers);
}

/** An HTML page (the consent page, error pages), with its CSP (see `pageCsp`). */
export function html(status: number, page: string, csp: string = pageCsp()): EmulatorReply {
  return answer(status, 'text/html;charset=UTF-8', Buffer.from(page, 'utf8'), {
    'content-security-policy': csp,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
}

/** A 302 to `location` (never followed by the emulator itself). */
export function redirect(location: string): EmulatorReply {
  return { kind: 'answer', status: 302, headers: { location, 'content-length': '0', ...NO_STORE }, body: EMPTY };
}

/** A bodiless answer such as 204. */
export function empty(status: number): EmulatorReply {
  return { kind: 'answer', status, headers: { ...NO_STORE }, body: EMPTY };
}

/** Exactly this body and content type, no cache headers added (the `malformed` fault's cut-off JSON). */
export function raw(status: number, contentType: string, text: string): EmulatorReply {
  const body = Buffer.from(text, 'utf8');
  return {
    kind: 'answer',
    status,
    headers: { 'content-type': contentType, 'content-length': String(body.length) },
    body,
  };
}

const EMPTY = Buffer.alloc(0);

function answer(
  status: number,
  contentType: string,
  body: Buffer,
  headers: Readonly<Record<string, string>> = {},
): EmulatorReply {
  return {
    kind: 'answer',
    status,
    headers: { ...headers, 'content-type': contentType, 'content-length': String(body.length), ...NO_STORE },
    body,
  };
}
