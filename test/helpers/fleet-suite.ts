// The fleet test of issue 4, "one refresh across the fleet" (8 processes × 25 callers, and a lock
// holder killed mid-refresh), for any store a worker can open from a spec, plus, for replicated
// stores, their master killed mid-refresh (issue 16). Run by test/fleet.test.ts on every store and
// by test/postgres-pgbouncer.test.ts behind its pooler.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OAuthToken, ZohoAuth, type TokenStore } from 'zoho-token-store';
import { startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { Fleet, sha256, type FleetStoreSpec, type FleetTask, type GoResult } from '../fixtures/fleet-worker.js';

export const WORKERS = 8;
export const CALLERS = 25;
const CLIENT = {
  clientId: '1000.FLEETTESTCLIENT00000000000000',
  clientSecret: 'fleet-test-secret-0123456789abcdef012345',
};
const SCOPES = ['ZohoCRM.org.READ', 'ZohoCRM.users.READ'];
// Per-test bound: a hung worker fails the test instead of the run.
const BOUND = { timeout: 30_000 };

/** One store the fleet shares. */
export interface FleetCase {
  title: string;
  skip: string | false;
  user: string;
  spec: FleetStoreSpec;
  /** The test process's own store on the same data. */
  open(): Promise<TokenStore>;
  /** Removes every table, file or key the case wrote. */
  drop(): Promise<void>;
  /**
   * For replicated stores: kills the master that holds the case's keys (a process the harness
   * started) and resolves with a check that a replica has taken its place.
   */
  killMaster?(): Promise<() => Promise<void>>;
}

/** The emulator and the worker processes of one test file, closed when the file ends. */
export interface FleetRig {
  emu: ZohoEmulator;
  fleet: Fleet;
}

/** Starts the emulator and {@link WORKERS} worker processes; both are closed after the file. */
export async function startFleetRig(): Promise<FleetRig> {
  const emu = await startZohoEmulator({ clients: [CLIENT] });
  after(() => emu.close());
  const fleet = await Fleet.start(WORKERS);
  after(() => fleet.close());
  return { emu, fleet };
}

/** Polls `condition` every 2 ms until it holds; fails after 10 s naming `what`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (const started = Date.now(); !(await condition()); await sleep(2)) {
    if (Date.now() - started > 10_000) throw new Error(`gave up waiting for ${what}`);
  }
}

/** The fleet tests on one store: one refresh for 8 × 25 callers, and a lock holder killed mid-refresh. */
export function describeFleet(c: FleetCase, { emu, fleet }: FleetRig): void {
  describe(`one refresh across a fleet on ${c.title}`, { skip: c.skip }, () => {
    let store: TokenStore;
    let tokenId: string | undefined;
    const task = (lock: Pick<FleetTask, 'lockLeaseMs' | 'lockWaitMs'> = {}): FleetTask => ({
      store: c.spec,
      environment: emu.environment,
      ...CLIENT,
      user: c.user,
      calls: CALLERS,
      ...lock,
    });

    before(async () => {
      store = await c.open();
    });
    after(async () => {
      await store?.close();
      await c.drop();
    });

    /** The user's stored token, expired for every worker's wall clock (logged in on first use). */
    async function expiredToken(): Promise<OAuthToken> {
      if (tokenId === undefined) {
        const auth = new ZohoAuth({ store, environment: emu.environment, ...CLIENT, clock: emu.clock, retries: 0 });
        const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: c.user, scopes: SCOPES });
        tokenId = (await auth.exchangeGrantToken(code, { user: c.user })).id!;
      }
      await store.saveToken(new OAuthToken({ id: tokenId, expiresAt: Date.now() - 60_000 }));
      const stale = await store.findTokenById(tokenId);
      assert.ok(stale?.accessToken && stale.isExpired(), 'the stored token is expired before the fleet starts');
      return stale;
    }

    /** Every caller got the same token, it is the stored one, new, and valid at Zoho. */
    async function assertOneTokenServed(results: GoResult[], stale: OAuthToken, workers: number): Promise<void> {
      assert.deepEqual(
        results.flatMap((r) => r.errors),
        [],
        'no caller failed',
      );
      const served = results.flatMap((r) => r.tokens);
      assert.equal(served.length, workers * CALLERS);
      const stored = await store.findTokenById(tokenId!);
      assert.ok(stored?.accessToken, 'the store holds an access token');
      assert.notEqual(stored.accessToken, stale.accessToken, 'the stored token was refreshed');
      assert.ok(!stored.isExpired(), 'the stored token is not expired');
      assert.deepEqual(new Set(served), new Set([sha256(stored.accessToken)]), 'every caller got the stored token');
      const org = await fetch(`${stored.apiDomain}/crm/v8/org`, {
        headers: { authorization: `Zoho-oauthtoken ${stored.accessToken}` },
      });
      assert.equal(
        org.status,
        200,
        `GET /crm/v8/org with the served token answered ${org.status}: ${await org.text()}`,
      );
      assert.equal(emu.tokenInfo(stored.accessToken)?.user, c.user);
    }

    test(
      `${WORKERS} processes × ${CALLERS} callers on one expired token: exactly one refresh, one token for all`,
      BOUND,
      async () => {
        const stale = await expiredToken();
        await fleet.prepare(task());
        const refreshesBefore = emu.stats().refreshRequests;
        // A slow Zoho: every process surely looks at the token while the one refresh is in flight.
        const slow = emu.faults.inject({ kind: 'latency', target: 'token', ms: 300 });
        try {
          const { results } = await fleet.go();

          assert.equal(emu.stats().refreshRequests - refreshesBefore, 1, 'refresh requests at Zoho');
          await assertOneTokenServed(results, stale, WORKERS);
        } finally {
          slow.remove();
        }
      },
    );

    test(
      'the lock holder SIGKILLed mid-refresh: the others go on after the lease, one more refresh, no storm',
      BOUND,
      async () => {
        const stale = await expiredToken();
        // Short lease, long wait: the waiters outlive the dead holder's lease.
        await fleet.prepare(task({ lockLeaseMs: 1500, lockWaitMs: 10_000 }));
        const [holder, ...others] = fleet.workers;
        assert.ok(holder !== undefined && others.length === WORKERS - 1);
        const refreshesBefore = emu.stats().refreshRequests;
        // Every refresh is slow (so uncoordinated waiters would all send one), the holder's hangs 3 s.
        emu.faults.inject({ kind: 'latency', target: 'token', ms: 300 });
        emu.faults.inject({ kind: 'latency', target: 'token', ms: 2700, times: 1 });
        try {
          holder.send({ op: 'go' });
          // The emulator counts a request before its latency: the holder has the lock and its refresh is in flight.
          await until(() => emu.stats().refreshRequests > refreshesBefore, "the holder's refresh request");
          const served = fleet.go(others);
          const exit = await fleet.kill(holder);
          assert.equal(exit.signal, 'SIGKILL');
          const { results } = await served;

          assert.equal(
            emu.stats().refreshRequests - refreshesBefore,
            2,
            "refresh requests at Zoho: the killed holder's and one more",
          );
          await assertOneTokenServed(results, stale, WORKERS - 1);
        } finally {
          emu.faults.clear('token');
        }
      },
    );

    const killMaster = c.killMaster;
    if (killMaster !== undefined) {
      test(
        'the master SIGKILLed mid-refresh: a replica takes over, still exactly one refresh, one token for all',
        BOUND,
        async () => {
          const stale = await expiredToken();
          await fleet.prepare(task());
          const refreshesBefore = emu.stats().refreshRequests;
          // A slow refresh: the lock is taken on the old master, the new token saved on the new one,
          // and every process waits through the failover.
          emu.faults.inject({ kind: 'latency', target: 'token', ms: 1500 });
          try {
            const served = fleet.go();
            await until(() => emu.stats().refreshRequests > refreshesBefore, 'the refresh request');
            const promoted = await killMaster();
            const { results } = await served;
            await promoted();

            assert.equal(emu.stats().refreshRequests - refreshesBefore, 1, 'refresh requests at Zoho');
            await assertOneTokenServed(results, stale, WORKERS);
          } finally {
            emu.faults.clear('token');
          }
        },
      );
    }
  });
}
