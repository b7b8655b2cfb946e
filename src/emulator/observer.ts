import type { FaultKind } from './faults.js';

/** One access token the emulator minted, with its true expiry on the emulator clock. */
export interface TokenIssuedEvent {
  /** The new access token. */
  readonly accessToken: string;
  /** A refresh token issued with it (code exchange only). */
  readonly refreshToken?: string;
  /** The refresh token it was minted from (refresh grant only). */
  readonly parentRefreshToken?: string;
  /** The `grant_type` of the token request. */
  readonly grantType: 'authorization_code' | 'refresh_token';
  /** The client it was issued to. */
  readonly clientId: string;
  /** The user (email) it acts as. */
  readonly user: string;
  /** The data center (location) that issued it. */
  readonly dc: string;
  /** When it was minted, epoch ms on the emulator clock. */
  readonly issuedAt: number;
  /** When it expires, epoch ms on the emulator clock. */
  readonly expiresAt: number;
}

/**
 * How one request to the token endpoint or the API ended: `issued` / `ok` (a 2xx API answer),
 * an OAuth error or API code Zoho itself would answer, or `faulted` (an injected fault answered).
 */
export interface RequestEvent {
  /** A code exchange, a refresh, or a CRM API call. */
  readonly category: 'grant' | 'refresh' | 'api';
  /** The data center (location) of the listener hit. */
  readonly dc: string;
  /** The refresh token sent (refresh grant) or the access token sent (API). */
  readonly token?: string;
  /** The injected fault that answered it, if any (a `throttle` here was injected, not earned). */
  readonly fault?: Exclude<FaultKind, 'latency'>;
  /** For a fault `status`, the status answered. */
  readonly status?: number;
  /** `issued`, `ok`, an OAuth `error` (`Access Denied`, `invalid_code`, …) or an API `code`. */
  readonly outcome: string;
}

/**
 * Synchronous observers of what the emulator does, for harnesses that check invariants against
 * the emulator's own records (a soak test). An observer that throws is ignored.
 */
export interface EmulatorObserver {
  /** Called for every access token minted (code exchange or refresh). */
  onTokenIssued?(event: TokenIssuedEvent): void;
  /** Called with the outcome of each code exchange, refresh or API request. */
  onRequest?(event: RequestEvent): void;
}

/** Calls one observer method, never letting it break a request. */
export function notify<K extends keyof EmulatorObserver>(
  observer: EmulatorObserver | undefined,
  name: K,
  event: Parameters<NonNullable<EmulatorObserver[K]>>[0],
): void {
  const method = observer?.[name] as ((e: typeof event) => void) | undefined;
  if (method === undefined) return;
  try {
    method.call(observer, event);
  } catch {
    // An observer's bug must not change what the emulator answers.
  }
}
