import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../../errors.js';
import { sanitizeCause } from '../../redact.js';
import { SECRET_FIELDS } from '../../token/oauth-token.js';
import type { TokenStore } from './token-store.js';

/** The typed errors of one store, every message prefixed with the store's name. */
export interface StoreErrors {
  /** The store's class name, e.g. `PostgresStore`. */
  readonly name: string;
  /** STORE_CLOSED: a call after `close()`. */
  closed(): ZohoTokenError;
  /** INVALID_ARGUMENT naming the option or argument at fault. */
  invalid(field: string, message: string): ZohoTokenError;
  /** TOKEN_CONFLICT: a save that would duplicate another stored token. */
  conflict(cause?: unknown, secrets?: readonly string[]): ZohoTokenError;
  /**
   * A failure of the backend as STORE_ERROR (`<name>: <what>: <driver message>`), its cause
   * stripped of driver fields and scrubbed of `secrets`. A ZohoTokenError passes through as is.
   */
  wrap(error: unknown, what: string, secrets?: readonly string[]): ZohoTokenError;
  /** An option that must be an integer of at least `min` (`undefined` takes `fallback`). */
  integer(value: unknown, field: string, min: number, fallback: number): number;
  /** An option that must be true or false (`undefined` takes `fallback`). */
  boolean(value: unknown, field: string, fallback: boolean): boolean;
  /** An option that must be one of `allowed` (`undefined` takes `fallback`). */
  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback: T): T;
}

/** One error factory per store, so every backend words and scrubs its errors alike. */
export function storeErrors(name: string): StoreErrors {
  const invalid = (field: string, message: string): ZohoTokenError =>
    new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `${name}: ${message}`, { field });
  return {
    name,
    closed: () => new ZohoTokenError(ErrorCode.STORE_CLOSED, `${name} is closed`),
    invalid,
    conflict: (cause, secrets = []) =>
      new ZohoTokenError(ErrorCode.TOKEN_CONFLICT, `${name}: the token would duplicate a stored token`, {
        cause: cause === undefined ? undefined : sanitizeCause(cause, secrets),
      }),
    wrap: (error, what, secrets = []) => {
      if (isZohoTokenError(error)) return error;
      const cause = sanitizeCause(error, secrets);
      return new ZohoTokenError(ErrorCode.STORE_ERROR, `${name}: ${what}: ${cause.message}`, { cause });
    },
    integer: (value, field, min, fallback) => {
      const checked = value ?? fallback;
      if (typeof checked !== 'number' || !Number.isSafeInteger(checked) || checked < min) {
        throw invalid(field, `${field} must be an integer of at least ${min}`);
      }
      return checked;
    },
    boolean: (value, field, fallback) => {
      const checked = value ?? fallback;
      if (typeof checked !== 'boolean') throw invalid(field, `${field} must be true or false`);
      return checked;
    },
    oneOf: (value, field, allowed, fallback) => {
      const checked = value ?? fallback;
      if (!allowed.includes(checked as never)) throw invalid(field, `${field} must be one of ${allowed.join(', ')}`);
      return checked as (typeof allowed)[number];
    },
  };
}

/** The secret values of a token (or stored record): scrubbed from anything a failed call reports. */
export function secretsOf(token: { readonly [K in (typeof SECRET_FIELDS)[number]]?: string | null }): string[] {
  return SECRET_FIELDS.map((field) => token[field]).filter((value): value is string => typeof value === 'string');
}

const DATA_METHODS = ['findToken', 'saveToken', 'deleteToken', 'getTokens', 'deleteTokens', 'findTokenById'] as const;

/**
 * Whether `value` has the TokenStore contract: the six data methods, `close` unless `needsClose`
 * is false (a caller that never closes the store need not insist), a usable `lock` if it has one.
 */
export function isTokenStore(value: unknown, needsClose = true): value is TokenStore {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  const methods = needsClose ? [...DATA_METHODS, 'close'] : DATA_METHODS;
  if (methods.some((method) => typeof candidate[method] !== 'function')) return false;
  const lock = candidate['lock'] as { acquire?: unknown } | null | undefined;
  return lock === undefined || (typeof lock === 'object' && lock !== null && typeof lock.acquire === 'function');
}

/** INVALID_ARGUMENT (field `store`) unless `value` is a TokenStore; `who` names the caller. */
export function assertTokenStore(value: unknown, who: string, needsClose = true): asserts value is TokenStore {
  if (!isTokenStore(value, needsClose)) {
    const methods = needsClose ? [...DATA_METHODS, 'close'] : DATA_METHODS;
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      `${who}: store must implement the TokenStore contract (${methods.join(', ')}; lock.acquire when there is a lock)`,
      { field: 'store' },
    );
  }
}
