import { ErrorCode, ZohoTokenError } from '../errors.js';

/**
 * The emulator's own time. Every expiry, sliding window and timestamp the emulator computes reads
 * this clock, so tests move time forward instead of sleeping.
 */
export interface EmulatorClock {
  /** Current time in epoch milliseconds. Safe to call unbound (`const { now } = clock`). */
  now(): number;
  /** Moves time forward by `ms` (must be a finite number ≥ 0). */
  advance(ms: number): void;
  /** Jumps to an absolute time in epoch milliseconds (may go backwards, for tests that need it). */
  set(epochMs: number): void;
}

/**
 * A manual clock that starts at `start` and only moves when told to. Methods are closures, not
 * prototype methods, so the object can be handed to other code (a client library under test) as
 * its injected clock and both sides see the same time.
 */
export function createEmulatorClock(start: number = Date.now()): EmulatorClock {
  assertTime(start, 'start');
  let current = start;
  return Object.freeze({
    now: (): number => current,
    advance: (ms: number): void => {
      assertAdvance(ms);
      current += ms;
    },
    set: (epochMs: number): void => {
      assertTime(epochMs, 'epochMs');
      current = epochMs;
    },
  });
}

/**
 * A clock that follows real time (`Date.now()`) from `start`, shifted by `advance` / `set`: the
 * standalone emulator's default, so tokens and throttle windows expire on their own while a test
 * can still jump ahead. `set` moves the offset; time keeps running from the new point.
 */
export function createRealEmulatorClock(start: number = Date.now()): EmulatorClock {
  assertTime(start, 'start');
  let offset = start - Date.now();
  return Object.freeze({
    now: (): number => Date.now() + offset,
    advance: (ms: number): void => {
      assertAdvance(ms);
      offset += ms;
    },
    set: (epochMs: number): void => {
      assertTime(epochMs, 'epochMs');
      offset = epochMs - Date.now();
    },
  });
}

function assertAdvance(ms: number): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'clock.advance(ms) needs a finite number >= 0', {
      field: 'ms',
    });
  }
}

function assertTime(value: number, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      `clock ${name} must be a finite number of epoch milliseconds`,
      { field: name },
    );
  }
}
