import type { LogLevel, LogMethod, Logger } from './logger.js';

/**
 * A winston logger, as far as the adapter uses it: `log(level, message, meta)`. Described
 * structurally so that winston stays the application's dependency, never ours.
 */
export interface WinstonLike {
  /** winston's `logger.log(level, message, meta)`: the meta object's fields join the log entry. */
  log(level: string, message: string, meta?: object): unknown;
  /** The logger's levels (`winston.config.npm.levels`, `syslog.levels`, your own…), when known. */
  readonly levels?: Readonly<Record<string, number>>;
}

/** Our levels, each with the winston level names that stand for it, nearest first. */
const WINSTON_LEVELS: Readonly<Record<LogLevel, readonly string[]>> = {
  debug: ['debug', 'verbose', 'silly', 'info'],
  info: ['info', 'notice', 'warn', 'warning'],
  warn: ['warn', 'warning', 'notice', 'error', 'err'],
  error: ['error', 'err', 'crit', 'alert', 'emerg'],
};

/**
 * The `debug` package's factory (`import createDebug from 'debug'`), as far as the adapter uses
 * it: a namespace in, a printf-style log function out.
 */
export type DebugFactory = (namespace: string) => (format: string, ...args: unknown[]) => void;

/**
 * Adapts a winston logger. winston reads `logger.info(obj, msg)` as an entry whose message is the
 * object, so the text is lost; through this adapter the text is winston's `message` and the
 * object's fields are the entry's metadata. `ZohoAuth` applies it by itself to a logger that looks
 * like winston's (it has `log`, `levels` and `transports`). Each of our levels goes to the
 * nearest level the logger has: with `winston.config.syslog.levels`, `warn` is logged as `warning`.
 */
export function winstonLogger(logger: WinstonLike): Logger {
  const method = (ours: LogLevel): LogMethod => {
    // A level the logger lacks would be dropped with "Unknown logger level" (syslog has no warn).
    const level = logger.levels === undefined ? ours : (WINSTON_LEVELS[ours].find((l) => l in logger.levels!) ?? ours);
    return (objOrMsg, msg) => {
      if (typeof objOrMsg === 'string') logger.log(level, objOrMsg);
      else logger.log(level, msg ?? '', objOrMsg);
    };
  };
  return { debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') };
}

/**
 * Adapts the `debug` package: one namespace per level under `namespace`
 * (`zoho-token-store:info`, …), so `DEBUG=zoho-token-store:*` shows everything and
 * `DEBUG=zoho-token-store:warn,zoho-token-store:error` only the problems. The message is never
 * used as a format string.
 */
export function debugLogger(createDebug: DebugFactory, namespace = 'zoho-token-store'): Logger {
  const method = (level: LogLevel): LogMethod => {
    const log = createDebug(`${namespace}:${level}`);
    return (objOrMsg, msg) => {
      if (typeof objOrMsg === 'string') log('%s', objOrMsg);
      else if (msg === undefined) log('%O', objOrMsg);
      else log('%s %O', msg, objOrMsg);
    };
  };
  return { debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') };
}

/** Whether `value` looks like a winston logger, whose `info(obj, msg)` would lose the message. */
export function isWinstonLike(value: unknown): value is WinstonLike {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { log?: unknown; levels?: unknown; transports?: unknown };
  return (
    typeof candidate.log === 'function' &&
    typeof candidate.levels === 'object' &&
    candidate.levels !== null &&
    Array.isArray(candidate.transports)
  );
}
