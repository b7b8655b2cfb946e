import { LockWaiter } from './lock-waiter.js';

/**
 * One {@link LockWaiter} per shared database in this process, for backends that cannot push
 * releases across processes (SQLite): stores of one process over the same data then wake each
 * other's waiters at once, while waiters in other processes poll. A waiter without a feed holds no
 * resource, so the map only grows by one small object per database this process opened.
 */
const waiters = new Map<string, LockWaiter>();

/** The waiter every store of this process over `key` (say the database file and table) shares. */
export function processWaiter(key: string): LockWaiter {
  let waiter = waiters.get(key);
  if (waiter === undefined) waiters.set(key, (waiter = new LockWaiter(undefined)));
  return waiter;
}
