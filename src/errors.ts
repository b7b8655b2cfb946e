/**
 * Every error this package throws is a {@link ZohoTokenError} with a stable string `code`.
 * Match on `code`, never on the message: messages may be reworded, codes may not.
 *
 * Messages and causes never contain secret values (tokens, client secrets); where a value helps
 * debugging it is shown redacted (see `redact`).
 */
export const ErrorCode = {
  // --- token model and store contract -------------------------------------------------------
  /** An `OAuthToken` (or its input) is invalid; `field` names the offending field. */
  INVALID_TOKEN: 'INVALID_TOKEN',
  /** A method received an argument of the wrong type or shape. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** `saveToken` got a token that no matching rule can ever find again (no id, user, grant, refresh or access token). */
  TOKEN_UNMATCHABLE: 'TOKEN_UNMATCHABLE',
  /** `saveToken` would insert a token that carries no grant, refresh or access token. */
  TOKEN_INCOMPLETE: 'TOKEN_INCOMPLETE',
  /** The token's keys point at two different stored tokens (e.g. its user at one, its refresh token at another). */
  TOKEN_CONFLICT: 'TOKEN_CONFLICT',
  /** A lookup by user name without a client id matched tokens of several clients. */
  TOKEN_AMBIGUOUS: 'TOKEN_AMBIGUOUS',
  /** No more ids fit in 10 characters. */
  ID_SPACE_EXHAUSTED: 'ID_SPACE_EXHAUSTED',
  /**
   * `openStore` got a URL it cannot open: unknown scheme, malformed, a query value the driver
   * refuses, or (found at first use) a Redis database number the server does not have.
   */
  INVALID_STORE_URL: 'INVALID_STORE_URL',
  /** `openStore(url, { mustExist: true })` (or a store's `mustExist`) named a store file that does not exist. */
  STORE_NOT_FOUND: 'STORE_NOT_FOUND',
  /** An optional driver package is not installed. */
  DRIVER_MISSING: 'DRIVER_MISSING',
  /** The backend failed (I/O, SQL, connection). The cause is attached with secrets removed. */
  STORE_ERROR: 'STORE_ERROR',
  /** The store was closed. */
  STORE_CLOSED: 'STORE_CLOSED',
  /** A stored row cannot be turned into a token (corrupt or foreign data). */
  CORRUPT_RECORD: 'CORRUPT_RECORD',
  /** An encrypted value cannot be decrypted: tampered, foreign, or its key id is not configured. */
  DECRYPTION_FAILED: 'DECRYPTION_FAILED',
  /** The cross-process refresh lock could not be taken in time. */
  LOCK_TIMEOUT: 'LOCK_TIMEOUT',

  // --- OAuth protocol ------------------------------------------------------------------------
  /** `invalid_code`: the grant code was used or expired, or the refresh token is revoked. The user must log in again. */
  INVALID_GRANT: 'INVALID_GRANT',
  /** `invalid_client`: unknown client id or the wrong data center's accounts server. */
  INVALID_CLIENT: 'INVALID_CLIENT',
  /** `invalid_client_secret`. */
  INVALID_CLIENT_SECRET: 'INVALID_CLIENT_SECRET',
  /** `invalid_redirect_uri`: the redirect URI differs from the registered one. */
  INVALID_REDIRECT_URI: 'INVALID_REDIRECT_URI',
  /** Zoho's "Access Denied" throttle; `retryAfterMs` tells when to try again. */
  THROTTLED: 'THROTTLED',
  /** Any other OAuth error body (`unsupported_grant_type`, `invalid_request`, …). */
  OAUTH_ERROR: 'OAUTH_ERROR',
  /** The request never got an answer (DNS, reset, refused) or timed out. */
  NETWORK: 'NETWORK',
  /** The caller's `AbortSignal` fired: the call stopped waiting (a request in flight was cancelled). */
  ABORTED: 'ABORTED',
  /** The server answered something that is not the documented JSON. */
  MALFORMED_RESPONSE: 'MALFORMED_RESPONSE',
  /** The server answered 5xx after every retry. */
  SERVER_ERROR: 'SERVER_ERROR',

  // --- lifecycle and API ---------------------------------------------------------------------
  /** No usable token is stored for that user: they must log in (again). */
  AUTH_REQUIRED: 'AUTH_REQUIRED',
  /** A CRM API call failed; `apiCode` holds Zoho's `code` (e.g. `INVALID_DATA`). */
  API_ERROR: 'API_ERROR',
  /**
   * The API kept answering HTTP 429 `TOO_MANY_REQUESTS` (org concurrency or rate limit) after the
   * client's bounded retries; `retryAfterMs` tells when to try again.
   */
  RATE_LIMITED: 'RATE_LIMITED',
  /**
   * A stored token names an accounts server or API domain that is neither Zoho's nor configured by
   * the application (`environment`, `environments`, `trustedEndpoints`): nothing was sent there.
   */
  UNTRUSTED_ENDPOINT: 'UNTRUSTED_ENDPOINT',
  /**
   * Zoho rejected the refresh token of a row bound to no data center (no `accounts_url`, no known
   * `api_domain`) at the configured one: it may be valid elsewhere, so it was kept. Bind the row
   * (`auth.bind`, `zoho-tokens bind`) or log the user in again.
   */
  TOKEN_UNBOUND: 'TOKEN_UNBOUND',
} as const;

/** One of the {@link ErrorCode} strings. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The optional details of a {@link ZohoTokenError}; each is set on the error only when given. */
export interface ZohoTokenErrorOptions {
  /** The underlying error; must already be free of secrets (use `sanitizeCause`). */
  cause?: unknown;
  /** For INVALID_TOKEN / INVALID_ARGUMENT: the field or argument at fault. */
  field?: string;
  /** For THROTTLED and RATE_LIMITED, and a refresh failure while its token cools down: milliseconds until a retry may succeed. */
  retryAfterMs?: number;
  /** For HTTP errors: the status code. */
  status?: number;
  /** For API_ERROR: Zoho's own error code; for OAUTH_ERROR: Zoho's `error` string. */
  apiCode?: string;
  /** The raw Response or body; attached non-enumerably so it never lands in logs or JSON. */
  response?: unknown;
}

/** The one error class this package throws; `name` is `'ZohoTokenError'`. Match on {@link code}. */
export class ZohoTokenError extends Error {
  /** What went wrong, stable across releases. */
  readonly code: ErrorCode;
  /** For INVALID_TOKEN / INVALID_ARGUMENT: the field or argument at fault. */
  declare readonly field?: string;
  /** For THROTTLED and RATE_LIMITED, and a refresh failure while its token cools down: milliseconds until a retry may succeed. */
  declare readonly retryAfterMs?: number;
  /** For HTTP errors: the status code. */
  declare readonly status?: number;
  /** For API_ERROR: Zoho's own error code (e.g. `INVALID_DATA`); for OAUTH_ERROR: Zoho's `error` string. */
  declare readonly apiCode?: string;
  /** The raw Response or body, non-enumerable so it never lands in logs or JSON. */
  declare readonly response?: unknown;

  /** For custom stores and adapters: `message` must hold no secret value (show it with `redact`). */
  constructor(code: ErrorCode, message: string, options: ZohoTokenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ZohoTokenError';
    this.code = code;
    if (options.field !== undefined) this.field = options.field;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.status !== undefined) this.status = options.status;
    if (options.apiCode !== undefined) this.apiCode = options.apiCode;
    if (options.response !== undefined) {
      Object.defineProperty(this, 'response', { value: options.response, enumerable: false });
    }
  }
}

/**
 * Whether `value` is a {@link ZohoTokenError}, and, when `code` is given, one with that code.
 *
 * @example
 * if (isZohoTokenError(error, ErrorCode.AUTH_REQUIRED)) redirectToLogin();
 */
export function isZohoTokenError(value: unknown, code?: ErrorCode): value is ZohoTokenError {
  return value instanceof ZohoTokenError && (code === undefined || value.code === code);
}
