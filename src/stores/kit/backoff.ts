/** How a retry loop spaces its attempts. */
export interface BackoffOptions {
  /**
   * Upper bound of the first pause in ms; each attempt doubles it.
   * @default 5
   */
  readonly baseMs?: number;
  /**
   * Upper bound of any pause in ms.
   * @default 100
   */
  readonly capMs?: number;
}

/**
 * The pause before retry `attempt` (0-based) of every store loop (lock polling, a save that lost
 * a race): drawn from `[1, 1 + min(capMs, baseMs · 2^attempt))` ms. Growing, so a long wait does
 * not hammer the backend; jittered ("full jitter"), so contenders do not retry in lockstep; at
 * least 1 ms, so a loop never spins.
 */
export function backoffMs(attempt: number, { baseMs = 5, capMs = 100 }: BackoffOptions = {}): number {
  return 1 + Math.random() * Math.min(capMs, baseMs * 2 ** attempt);
}
