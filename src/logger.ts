import { redact, scrubText } from './redact.js';

/**
 * One log method, callable as pino and console both are: `(obj, msg?)` or `(msg)`. Any extra
 * arguments are never passed, so printf-style formatting of a logger never sees a raw value.
 */
export type LogMethod = (objOrMsg: object | string, msg?: string) => void;

/** What ZohoAuth logs to. `console` and a pino logger both fit as they are. */
export interface Logger {
  /** Tracing detail (e.g. a token served from the store). */
  debug: LogMethod;
  /** Lifecycle events: tokens exchanged, refreshed, imported, revoked. */
  info: LogMethod;
  /** Failures the operation survived or reports to its caller (e.g. a refresh that failed). */
  warn: LogMethod;
  /** Failures nobody else will see (e.g. a hook that threw, a dead token that could not be marked). */
  error: LogMethod;
}

/** A {@link Logger} method name: `'debug' | 'info' | 'warn' | 'error'`. */
export type LogLevel = keyof Logger;

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

const noop: LogMethod = () => undefined;

/** The default: logs nothing. */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/** Keys whose values are credentials wherever they appear in a logged object. */
const SECRET_KEY =
  /^(access_?token|refresh_?token|grant_?token|client_?secret|id_?token|authorization|password|secret|token)$/i;
/** Zoho's token shape (`1000.<32 hex>.<32 hex>`): caught even under an innocent key or inside a message. */
const ZOHO_TOKEN = /1000\.[0-9a-f]{32}\.[0-9a-f]{32}/gi;
const MAX_DEPTH = 6;

/** Whether `value` has the four {@link Logger} methods. */
export function isLogger(value: unknown): value is Logger {
  return (
    typeof value === 'object' &&
    value !== null &&
    LEVELS.every((level) => typeof (value as Logger)[level] === 'function')
  );
}

/**
 * Wraps a logger so that nothing secret reaches it: values under credential-named keys are shown
 * redacted, every known secret (the client secret, …) and every Zoho-shaped token is replaced by
 * its redacted form in strings, errors become plain objects with scrubbed message, stack and cause,
 * and objects with `toJSON` (OAuthToken) are logged through it. A logger that throws is ignored:
 * logging never breaks a token operation.
 */
export function redactingLogger(logger: Logger, secrets: Iterable<string | null | undefined> = []): Logger {
  const known = [...secrets].filter((s): s is string => typeof s === 'string' && s.length > 0);
  const clean = (text: string): string => scrubText(text, known).replace(ZOHO_TOKEN, (token) => redact(token));
  const wrap =
    (level: LogLevel): LogMethod =>
    (objOrMsg, msg) => {
      try {
        if (typeof objOrMsg === 'string') logger[level](clean(objOrMsg));
        else if (msg === undefined) logger[level](scrubValue(objOrMsg, clean, 0, new WeakSet()) as object);
        else logger[level](scrubValue(objOrMsg, clean, 0, new WeakSet()) as object, clean(msg));
      } catch {
        // A failing sink must not turn a successful refresh into an error.
      }
    };
  return Object.freeze({ debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') });
}

function scrubValue(value: unknown, clean: (text: string) => string, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return clean(value);
  if (typeof value !== 'object' || value === null) return typeof value === 'function' ? '[function]' : value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  if (value instanceof Error) return scrubError(value, clean, depth, seen);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return scrubValue(toJSON.call(value), clean, depth + 1, seen);
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, clean, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] =
      SECRET_KEY.test(key) && item !== null && item !== undefined
        ? typeof item === 'string'
          ? redact(item)
          : '[redacted]'
        : scrubValue(item, clean, depth + 1, seen);
  }
  return out;
}

/** Only the fields that help debugging; a driver's extra properties (SQL, params) are dropped. */
function scrubError(
  error: Error,
  clean: (text: string) => string,
  depth: number,
  seen: WeakSet<object>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { type: error.name, message: clean(error.message) };
  for (const key of ['code', 'status', 'apiCode', 'field', 'retryAfterMs'] as const) {
    const field = (error as unknown as Record<string, unknown>)[key];
    if (typeof field === 'string' || typeof field === 'number')
      out[key] = typeof field === 'string' ? clean(field) : field;
  }
  if (error.stack !== undefined) out.stack = clean(error.stack);
  if (error.cause !== undefined) out.cause = scrubValue(error.cause, clean, depth + 1, seen);
  return out;
}
