/**
 * The time limits of in-flight API requests, all checked by ONE unref'd interval instead of a
 * timer per request: arming and clearing a Node timer costs about as much as the rest of a cached
 * API call's own work. A request is aborted at most {@link SWEEP_MS} after its deadline.
 */

/** How often deadlines are checked, in ms: the most a timeout can fire late. */
export const SWEEP_MS = 25;

/** One request's deadline (`at` on the monotonic clock, so a wall-clock jump moves no deadline): its controller is aborted with a `TimeoutError` once it passes. */
export interface Deadline {
  readonly at: number;
  readonly ms: number;
  readonly controller: { abort(reason?: unknown): void };
}

/** The error a timed-out request is aborted with (`name` `TimeoutError`). */
export function timeoutError(ms: number): Error {
  const error = new Error(`timed out after ${ms} ms`);
  error.name = 'TimeoutError';
  return error;
}

const pending = new Set<Deadline>();
let sweeper: ReturnType<typeof setInterval> | undefined;

function sweep(): void {
  if (pending.size === 0) {
    // Nothing in flight since the last sweep: stop until the next request.
    clearInterval(sweeper);
    sweeper = undefined;
    return;
  }
  const now = performance.now();
  for (const deadline of pending) {
    if (deadline.at > now) continue;
    pending.delete(deadline);
    deadline.controller.abort(timeoutError(deadline.ms));
  }
}

/** Arms a deadline `ms` from now; remove it with {@link disarm} when the request settles. */
export function arm(controller: Deadline['controller'], ms: number): Deadline {
  const entry: Deadline = { at: performance.now() + ms, ms, controller };
  pending.add(entry);
  if (sweeper === undefined) {
    sweeper = setInterval(sweep, SWEEP_MS);
    sweeper.unref();
  }
  return entry;
}

/** The request settled: its deadline no longer applies. */
export function disarm(deadline: Deadline): void {
  pending.delete(deadline);
}
