import { ErrorCode, ZohoTokenError } from '../errors.js';
import { sanitizeCause, scrubText } from '../redact.js';

/**
 * Used for `THROTTLED` when the server sends no `Retry-After` (Zoho never does). Zoho counts its
 * mint limit over 10 minutes, but the block usually lifts sooner; a minute avoids hammering it.
 */
export const DEFAULT_THROTTLE_RETRY_AFTER_MS = 60_000;

/** How a Response from the accounts server is read and turned into errors. */
export interface ClassifyOptions {
  /**
   * Clock in epoch ms (for `expiresAt` and HTTP-date `Retry-After` values).
   * @default Date.now
   */
  now?: () => number;
  /**
   * `retryAfterMs` of a `THROTTLED` error when the response has no `Retry-After` header.
   * @default 60_000
   */
  throttleRetryAfterMs?: number;
  /**
   * Values to scrub from any error message or cause (the request's client secret, code, tokens).
   * @default []
   */
  secrets?: Iterable<string | null | undefined>;
}

/** A parsed JSON object body. */
export type JsonObject = Record<string, unknown>;

/** Zoho's error strings that have their own code; anything else is `OAUTH_ERROR`. */
const ERROR_CODES: Readonly<Record<string, ErrorCode>> = {
  invalid_code: ErrorCode.INVALID_GRANT,
  invalid_client: ErrorCode.INVALID_CLIENT,
  invalid_client_secret: ErrorCode.INVALID_CLIENT_SECRET,
  invalid_redirect_uri: ErrorCode.INVALID_REDIRECT_URI,
};

const ERROR_MESSAGES: Readonly<Record<string, string>> = {
  invalid_code:
    'Zoho rejected the grant (invalid_code): the grant code was already used or expired, or the refresh token was revoked. The user must log in again.',
  invalid_client:
    "Zoho does not know this client (invalid_client): check the client id, and that the accounts server is the user's data center.",
  invalid_client_secret: 'Zoho rejected the client secret (invalid_client_secret).',
  invalid_redirect_uri: 'The redirect URI differs from the one registered for this client (invalid_redirect_uri).',
};

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads the body and returns it as a JSON object when the response is a success; otherwise throws
 * the matching `ZohoTokenError`. Order matters: 5xx first (its body is a proxy page), then Zoho's
 * `error` field whatever the status (Zoho answers errors with HTTP 200), then other statuses.
 */
export async function readOAuthJson(response: Response, options: ClassifyOptions = {}): Promise<JsonObject> {
  const secrets = [...(options.secrets ?? [])];
  const text = await readText(response, secrets);
  const status = response.status;
  if (status >= 500) {
    throw new ZohoTokenError(ErrorCode.SERVER_ERROR, `Zoho accounts server answered HTTP ${status}`, {
      status,
      response,
    });
  }
  const body = parseJson(text);
  if (isJsonObject(body) && body.error !== undefined) throw classifyOAuthError(body, response, options);
  if (status === 429) throw throttled(response, options, 'HTTP 429');
  if (status < 200 || status > 299) {
    throw new ZohoTokenError(
      ErrorCode.OAUTH_ERROR,
      `Zoho accounts server answered HTTP ${status} without an OAuth error body`,
      {
        status,
        response,
      },
    );
  }
  if (!isJsonObject(body)) {
    const what = body === undefined ? 'a body that is not JSON' : 'JSON that is not an object';
    throw malformed(
      `Zoho accounts server answered HTTP ${status} with ${what} (${describeBody(response, text)})`,
      response,
    );
  }
  return body;
}

/**
 * Turns a body carrying an `error` field into the typed error (returned, not thrown): `THROTTLED`
 * for Zoho's "Access Denied"/throttle answers (`retryAfterMs` from `Retry-After`, else
 * `throttleRetryAfterMs`), `INVALID_GRANT`, `INVALID_CLIENT`, `INVALID_CLIENT_SECRET` or
 * `INVALID_REDIRECT_URI` for Zoho's matching error strings, `OAUTH_ERROR` with the string as
 * `apiCode` for any other, and `MALFORMED_RESPONSE` when `error` is not a string.
 */
export function classifyOAuthError(
  body: Record<string, unknown>,
  response: Response | undefined,
  options: ClassifyOptions = {},
): ZohoTokenError {
  const status = response?.status;
  const error = body.error;
  if (typeof error !== 'string')
    return malformed('Zoho accounts server answered an error body whose `error` is not a string', response);
  const description = typeof body.error_description === 'string' ? body.error_description : '';
  if (/access denied|throttle/i.test(`${error} ${description}`))
    return throttled(response, options, quote(error, options));
  const code = ERROR_CODES[error];
  const message = ERROR_MESSAGES[error];
  if (code !== undefined && message !== undefined) return new ZohoTokenError(code, message, { status, response });
  return new ZohoTokenError(
    ErrorCode.OAUTH_ERROR,
    `Zoho accounts server answered OAuth error ${quote(error, options)}`,
    {
      status,
      response,
      apiCode: scrubText(error, [...(options.secrets ?? [])]),
    },
  );
}

/** `Retry-After` as delta-seconds or an HTTP date; `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

export function malformed(message: string, response: Response | undefined): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.MALFORMED_RESPONSE, message, { status: response?.status, response });
}

function throttled(response: Response | undefined, options: ClassifyOptions, what: string): ZohoTokenError {
  const now = (options.now ?? Date.now)();
  const header = response ? parseRetryAfter(response.headers.get('retry-after'), now) : undefined;
  const retryAfterMs = header ?? options.throttleRetryAfterMs ?? DEFAULT_THROTTLE_RETRY_AFTER_MS;
  return new ZohoTokenError(
    ErrorCode.THROTTLED,
    `Zoho throttled this client (${what}); retry after ${retryAfterMs} ms`,
    {
      status: response?.status,
      response,
      retryAfterMs,
    },
  );
}

async function readText(response: Response, secrets: readonly (string | null | undefined)[]): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw new ZohoTokenError(ErrorCode.NETWORK, 'Reading the accounts server response failed', {
      cause: sanitizeCause(error, secrets),
      status: response.status,
      response,
    });
  }
}

/** `undefined` for non-JSON. The SyntaxError is dropped on purpose: its message quotes the body. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Zoho's error strings are not secret, but are bounded and scrubbed in case a server echoes input. */
function quote(value: string, options: ClassifyOptions): string {
  return JSON.stringify(scrubText(value, [...(options.secrets ?? [])]).slice(0, 100));
}

function describeBody(response: Response, text: string): string {
  return `content-type ${response.headers.get('content-type') ?? 'none'}, ${text.length} characters`;
}
