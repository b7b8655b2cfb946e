// LockWaiter, the shared wake-up side of the stores' locks, with feeds that misbehave: one whose
// start never settles, one whose start fails. Neither may hold a waiter past its pause, and a
// failing feed must not be restarted (a new connection) on every wait.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LockWaiter, type FeedSubscription, type ReleaseFeed } from '../src/stores/kit/lock-waiter.js';

describe('LockWaiter with a misbehaving feed', () => {
  test('a feed whose start never settles: watch returns at once, pauses are the short poll, a local release wakes', async () => {
    let starts = 0;
    const feed: ReleaseFeed = {
      start: () => {
        starts++;
        return new Promise<FeedSubscription>(() => {});
      },
    };
    const waiter = new LockWaiter(feed, { safetyMs: 60_000, pollCapMs: 5 });
    const watch = await waiter.watch('lock-a');
    // Short poll (≤ 5 ms cap), not the 60 s safety pause of a live feed: resolves, not woken.
    assert.equal(await watch.pause(1, 60_000, undefined), false);
    const woken = watch.pause(1, 60_000, undefined);
    waiter.released('lock-a');
    assert.equal(await woken, true);
    watch.end();
    assert.equal(starts, 1);
    await waiter.close();
  });

  test('a feed whose start fails is not started again by the next waits (no connection per acquire)', async () => {
    let starts = 0;
    const feed: ReleaseFeed = {
      start: () => {
        starts++;
        return Promise.reject(new Error('too many connections'));
      },
    };
    const waiter = new LockWaiter(feed, { safetyMs: 60_000, pollCapMs: 5 });
    for (let i = 0; i < 5; i++) {
      const watch = await waiter.watch('lock-b');
      assert.equal(await watch.pause(1, 60_000, undefined), false);
      watch.end();
    }
    assert.equal(starts, 1);
    await waiter.close();
  });

  test('an abort cuts a pause at once', async () => {
    const waiter = new LockWaiter(undefined, { pollCapMs: 60_000 });
    const watch = await waiter.watch('lock-c');
    const controller = new AbortController();
    const paused = watch.pause(30, 60_000, controller.signal);
    controller.abort();
    assert.equal(await paused, false);
    watch.end();
    await waiter.close();
  });
});
