import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, isZohoTokenError } from '../errors.js';
import type { StoreLock, TokenStore } from '../stores/kit/token-store.js';
import type { SuiteRunner } from './token-store-suite.js';

/** Options of {@link describeStoreLock}: how to make two stores that share their data. */
export interface StoreLockSuiteOptions {
  /** Shown in the suite's title. */
  name: string;
  /**
   * Two stores over the SAME data (as two processes sharing one database would have), both with a
   * `lock`. Called once per test; the suite closes both. With `notifies`, the wake-up tests pass
   * `lockPollMs`: the stores' safety poll (how long a waiter waits for a release notification
   * before checking the lock anyway).
   */
  createPair(options?: LockPairOptions): Promise<[TokenStore, TokenStore]>;
  /**
   * Whether the lock honours `LockOptions.signal`. A lock may ignore it (ZohoAuth then stops
   * waiting by itself and gives back a late grant); set `false` to skip that test.
   * @default true
   */
  honoursSignal?: boolean;
  /**
   * Whether the stores wake their waiters when a lock is released in another process (LISTEN/NOTIFY,
   * pub/sub, a directory watch) rather than polling: then the suite also checks that a waiter is
   * woken well within a long safety poll, and that a lock freed without a notification is still
   * taken through that poll.
   * @default false
   */
  notifies?: boolean;
}

/** What {@link StoreLockSuiteOptions.createPair} is asked for by the wake-up tests. */
export interface LockPairOptions {
  /** The safety poll of both stores, in ms (their `lockPollMs` option). */
  lockPollMs: number;
}

function lockOf(store: TokenStore): StoreLock {
  assert.ok(store.lock, 'the store must have the lock capability');
  return store.lock;
}

let serial = 0;
const name = (): string => `refresh:${process.pid}-${++serial}-${Math.random().toString(16).slice(2, 8)}`;

/**
 * Registers the conformance suite of the optional `lock` capability: mutual exclusion between two
 * store instances over the same data, independent names, release only by the owner, a lease that
 * expires (a crashed holder), a waiter served once the lock is free, and typed errors.
 */
export function describeStoreLock(runner: SuiteRunner, options: StoreLockSuiteOptions): void {
  const test = (
    title: string,
    body: (a: StoreLock, b: StoreLock) => Promise<void>,
    pair: LockPairOptions | undefined = undefined,
  ): void => {
    runner.it(title, async () => {
      const [a, b] = await (pair === undefined ? options.createPair() : options.createPair(pair));
      try {
        await body(lockOf(a), lockOf(b));
      } finally {
        await a.close();
        await b.close();
      }
    });
  };

  runner.describe(`StoreLock conformance: ${options.name}`, () => {
    test('one holder at a time, across instances; other names are independent', async (a, b) => {
      const lock = name();
      const held = await a.acquire(lock, { leaseMs: 60_000, waitMs: 0 });
      assert.ok(held);
      assert.equal(await b.acquire(lock, { leaseMs: 60_000, waitMs: 50 }), null);
      assert.equal(await a.acquire(lock, { leaseMs: 60_000, waitMs: 0 }), null, 'not re-entrant');
      const other = await b.acquire(name(), { leaseMs: 60_000, waitMs: 0 });
      assert.ok(other, 'other names are independent');
      await held.release();
      const next = await b.acquire(lock, { leaseMs: 60_000, waitMs: 0 });
      assert.ok(next, 'free again after release');
      await next.release();
      await other.release();
    });

    test('release is idempotent: a second release does nothing, even once another holder has the lock', async (a, b) => {
      const lock = name();
      const held = await a.acquire(lock, { leaseMs: 60_000, waitMs: 0 });
      assert.ok(held);
      await held.release();
      await held.release();
      const next = await b.acquire(lock, { leaseMs: 60_000, waitMs: 0 });
      assert.ok(next, 'free after the first release');
      await held.release();
      assert.equal(await a.acquire(lock, { leaseMs: 60_000, waitMs: 0 }), null, "a late release freed another's lock");
      await next.release();
    });

    test("a lease runs out; the old holder's late release does not free the new holder's lock", async (a, b) => {
      const lock = name();
      const crashed = await b.acquire(lock, { leaseMs: 100, waitMs: 0 });
      assert.ok(crashed);
      const waiter = await a.acquire(lock, { leaseMs: 60_000, waitMs: 5_000 });
      assert.ok(waiter, 'a waiter takes over once the lease ran out');
      await crashed.release();
      assert.equal(await b.acquire(lock, { leaseMs: 60_000, waitMs: 0 }), null, 'still held by the waiter');
      await waiter.release();
      await sleep(0);
      const after = await b.acquire(lock, { leaseMs: 60_000, waitMs: 0 });
      assert.ok(after);
      await after.release();
    });

    test('a waiter is served soon after the holder releases', async (a, b) => {
      const lock = name();
      const first = await a.acquire(lock, { leaseMs: 60_000, waitMs: 0 });
      assert.ok(first);
      const second = b.acquire(lock, { leaseMs: 60_000, waitMs: 5_000 });
      await sleep(30);
      await first.release();
      const got = await second;
      assert.ok(got, 'the waiter got the lock');
      await got.release();
    });

    test('of several contenders exactly one wins', async (a, b) => {
      const lock = name();
      const tries = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).acquire(lock, { leaseMs: 60_000, waitMs: 0 })),
      );
      const winners = tries.filter((t) => t !== null);
      assert.equal(winners.length, 1);
      await winners[0]!.release();
    });

    test('contenders that wait get the lock one after another, never two at once', async (a, b) => {
      const lock = name();
      let inside = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          const held = await (i % 2 ? a : b).acquire(lock, { leaseMs: 10_000, waitMs: 10_000 });
          assert.ok(held);
          most = Math.max(most, ++inside);
          await sleep(10);
          inside--;
          await held.release();
        }),
      );
      assert.equal(most, 1);
    });

    if (options.honoursSignal !== false) {
      test('an aborted wait rejects ABORTED and never takes the lock afterwards', async (a, b) => {
        const lock = name();
        const held = await a.acquire(lock, { leaseMs: 60_000, waitMs: 0 });
        assert.ok(held);
        const controller = new AbortController();
        const waiting = b.acquire(lock, { leaseMs: 60_000, waitMs: 10_000, signal: controller.signal });
        await sleep(30);
        controller.abort(new Error('request deadline'));
        await assert.rejects(waiting, (error: unknown) => isZohoTokenError(error, ErrorCode.ABORTED));
        await held.release();
        await sleep(100); // a poller that kept going after the abort would take the free lock now
        const next = await a.acquire(lock, { leaseMs: 60_000, waitMs: 0 });
        assert.ok(next, 'the aborted waiter must not hold the lock');
        await next.release();
        await assert.rejects(
          b.acquire(lock, { leaseMs: 60_000, waitMs: 0, signal: AbortSignal.abort() }),
          (error: unknown) => isZohoTokenError(error, ErrorCode.ABORTED),
        );
      });
    }

    if (options.notifies === true) {
      test(
        'a waiter is woken by the release, long before its safety poll',
        async (a, b) => {
          const lock = name();
          const first = await a.acquire(lock, { leaseMs: 60_000, waitMs: 0 });
          assert.ok(first);
          let gotAt = 0;
          const second = b.acquire(lock, { leaseMs: 60_000, waitMs: 30_000 }).then((held) => {
            gotAt = Date.now();
            return held;
          });
          // Long enough for the waiter to find the lock taken and start listening (a new connection).
          await sleep(500);
          assert.equal(gotAt, 0, 'the waiter must not get a held lock');
          const releasedAt = Date.now();
          await first.release();
          const got = await second;
          assert.ok(got, 'the waiter got the lock');
          // A behaviour check, not a benchmark: woken, it is served long before the 10 s poll.
          assert.ok(gotAt - releasedAt < 5_000, `served ${gotAt - releasedAt} ms after the release`);
          await got.release();
        },
        { lockPollMs: 10_000 },
      );

      test(
        'a lock freed without a notification (its lease ran out) is still taken, through the safety poll',
        async (a, b) => {
          const lock = name();
          const crashed = await a.acquire(lock, { leaseMs: 300, waitMs: 0 });
          assert.ok(crashed);
          const got = await b.acquire(lock, { leaseMs: 60_000, waitMs: 20_000 });
          assert.ok(got, 'the waiter took the lock once the lease ran out, with no release to hear');
          await got.release();
        },
        { lockPollMs: 200 },
      );
    }

    test('bad arguments are typed errors', async (a) => {
      const invalid = (error: unknown): boolean => {
        assert.ok(isZohoTokenError(error, ErrorCode.INVALID_ARGUMENT), String(error));
        return true;
      };
      await assert.rejects(a.acquire('', { leaseMs: 1000, waitMs: 0 }), invalid);
      await assert.rejects(a.acquire(name(), { leaseMs: 0, waitMs: 0 }), invalid);
      await assert.rejects(a.acquire(name(), { leaseMs: 1000, waitMs: -1 }), invalid);
      await assert.rejects(a.acquire(name(), { leaseMs: Number.NaN, waitMs: 0 }), invalid);
    });
  });

  runner.it(`StoreLock conformance: ${options.name}: a closed store's lock fails with STORE_CLOSED`, async () => {
    const [a, b] = await options.createPair();
    await b.close();
    await a.close();
    await assert.rejects(lockOf(a).acquire(name(), { leaseMs: 1000, waitMs: 0 }), (error: unknown) => {
      assert.ok(isZohoTokenError(error, ErrorCode.STORE_CLOSED), String(error));
      return true;
    });
  });
}
