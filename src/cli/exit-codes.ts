import type { ErrorCode } from '../errors.js';

/**
 * The exit codes of `zoho-tokens`. Stable: scripts branch on them (docs/cli.md lists them, and
 * `zoho-tokens --help` prints them). Never renumber; add new ones at the end.
 */
export const ExitCode = {
  OK: 0,
  /** Anything not covered below (Zoho rejected the client, an unexpected answer, a bug). */
  ERROR: 1,
  /** Wrong command line: unknown option, missing argument, invalid value, ambiguous user. */
  USAGE: 2,
  /** The user must log in (again): no usable token, grant code used or expired, refresh token revoked. */
  AUTH_REQUIRED: 3,
  /** Zoho could not be reached, answered 5xx, or throttled us; a store lock stayed busy. Retry later. */
  UNAVAILABLE: 4,
  /** The token store failed: bad store URL, store file missing, driver missing, I/O or SQL error, corrupt or undecryptable row, or a row naming an untrusted server. */
  STORE: 5,
  /** No stored token matches the given id or user. */
  NOT_FOUND: 6,
  /** A destructive command was not confirmed at its prompt: nothing was changed. */
  CANCELLED: 7,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Every library error code, mapped once. Exhaustive on purpose: a new ErrorCode fails the type
 * check here until someone decides which exit code it gets.
 */
const BY_ERROR_CODE: Record<ErrorCode, ExitCode> = {
  INVALID_TOKEN: ExitCode.ERROR,
  INVALID_ARGUMENT: ExitCode.USAGE,
  TOKEN_UNMATCHABLE: ExitCode.ERROR,
  TOKEN_INCOMPLETE: ExitCode.ERROR,
  TOKEN_CONFLICT: ExitCode.STORE,
  TOKEN_AMBIGUOUS: ExitCode.USAGE,
  ID_SPACE_EXHAUSTED: ExitCode.STORE,
  INVALID_STORE_URL: ExitCode.STORE,
  STORE_NOT_FOUND: ExitCode.STORE,
  DRIVER_MISSING: ExitCode.STORE,
  STORE_ERROR: ExitCode.STORE,
  STORE_CLOSED: ExitCode.STORE,
  CORRUPT_RECORD: ExitCode.STORE,
  DECRYPTION_FAILED: ExitCode.STORE,
  LOCK_TIMEOUT: ExitCode.UNAVAILABLE,
  INVALID_GRANT: ExitCode.AUTH_REQUIRED,
  INVALID_CLIENT: ExitCode.ERROR,
  INVALID_CLIENT_SECRET: ExitCode.ERROR,
  INVALID_REDIRECT_URI: ExitCode.ERROR,
  THROTTLED: ExitCode.UNAVAILABLE,
  OAUTH_ERROR: ExitCode.ERROR,
  NETWORK: ExitCode.UNAVAILABLE,
  // The CLI passes no signal of its own; an abort would come from a bug.
  ABORTED: ExitCode.ERROR,
  MALFORMED_RESPONSE: ExitCode.ERROR,
  SERVER_ERROR: ExitCode.UNAVAILABLE,
  AUTH_REQUIRED: ExitCode.AUTH_REQUIRED,
  API_ERROR: ExitCode.ERROR,
  RATE_LIMITED: ExitCode.UNAVAILABLE,
  // A row naming a server nobody configured: tampered or foreign data, like an undecryptable row.
  UNTRUSTED_ENDPOINT: ExitCode.STORE,
  // Zoho rejected an unbound row's refresh token at the guessed data center: bind it, or log in again.
  TOKEN_UNBOUND: ExitCode.AUTH_REQUIRED,
};

export function exitCodeForErrorCode(code: string): ExitCode {
  return Object.hasOwn(BY_ERROR_CODE, code) ? BY_ERROR_CODE[code as ErrorCode] : ExitCode.ERROR;
}

/** The text appended to `zoho-tokens --help`. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  other error (Zoho rejected the client, unexpected answer)
  2  usage error (bad option or argument, ambiguous user)
  3  authentication required: the user must log in (again), or bind the token to its data center
  4  Zoho unreachable, failing or throttling; store lock busy: retry later
  5  token store error (bad store URL, store file missing, I/O, SQL, corrupt or undecryptable row, row naming an untrusted server)
  6  no such token
  7  cancelled at the confirmation prompt: nothing was changed`;
