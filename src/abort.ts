import { ErrorCode, ZohoTokenError } from './errors.js';
import { sanitizeCause } from './redact.js';

/** Options of a call that a caller may cut short. */
export interface AbortOptions {
  /**
   * Cuts the call short: it rejects with `ABORTED` at once, whether it is waiting for a lock, for
   * Zoho or for a refresh shared with other callers (that refresh goes on for them). Once every
   * caller of a refresh has given up, its wait for the store's lock stops too; a refresh request
   * already sent to Zoho is let finish and its token saved (Zoho counts it against the token's
   * limits either way), and so is a grant-code exchange (the code cannot be sent again). A
   * revoke's request is cancelled.
   */
  signal?: AbortSignal | undefined;
}

/** The signal of `options`, checked: INVALID_ARGUMENT when it is not an AbortSignal. */
export function signalOf(options: AbortOptions | undefined): AbortSignal | undefined {
  const signal = options?.signal;
  if (signal === undefined) return undefined;
  // Duck-typed: a signal of another realm or an AbortController polyfill is a signal too.
  const candidate = signal as { aborted?: unknown; addEventListener?: unknown } | null;
  if (typeof candidate?.aborted !== 'boolean' || typeof candidate.addEventListener !== 'function') {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'signal must be an AbortSignal', { field: 'signal' });
  }
  return signal;
}

/** `ABORTED`: `what` stopped because the caller's signal fired; the reason is kept as the cause. */
export function abortedError(what: string, signal: AbortSignal, secrets: readonly string[] = []): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.ABORTED, `${what} was aborted by the caller`, {
    cause: sanitizeCause(signal.reason, secrets),
  });
}

/**
 * `work`, or ABORTED as soon as `signal` fires, whichever comes first. `work` itself goes on (it may
 * be shared with other callers); its later failure is not reported as unhandled.
 */
export async function untilAborted<T>(signal: AbortSignal | undefined, what: string, work: Promise<T>): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    throw abortedError(what, signal);
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(abortedError(what, signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
    work.catch(() => undefined);
  }
}
