// Hosts whose clocks disagree with the accounts server (and with each other) share one store: no
// host may hand out an access token the server already considers expired.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ZohoAuth } from 'zoho-token-store';
import type { ZohoEmulator } from 'zoho-token-store/emulator';
import { ServerClock } from '../src/auth/server-clock.js';
import { silentLogger } from 'zoho-token-store';
import { CLIENT, HOUR, authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';

const USER = 'ada.lovelace@example.com';
const MINUTE = 60_000;
const START = Date.UTC(2026, 0, 5, 8, 0, 0, 250);

/** A host whose clock is `skewMs` ahead of the emulator's (behind when negative). */
function host(emu: ZohoEmulator, store: ReturnType<typeof sqliteStore>, skewMs: number, options = {}): ZohoAuth {
  return authFor(emu, store, { clock: { now: () => emu.clock.now() + skewMs }, ...options });
}

/**
 * Every host asks for the token once per simulated minute for `hours`; returns how many tokens
 * were handed out that the emulator (the accounts server) already considered expired.
 */
async function simulate(
  emu: ZohoEmulator,
  hosts: ZohoAuth[],
  hours: number,
): Promise<{ handedOut: number; expired: number }> {
  let handedOut = 0;
  let expired = 0;
  for (let minute = 0; minute < hours * 60; minute++) {
    for (const auth of hosts) {
      const token = await auth.getAccessToken({ user: USER });
      handedOut++;
      if (emu.tokenInfo(token) === undefined) expired++;
    }
    emu.clock.advance(MINUTE);
  }
  return { handedOut, expired };
}

describe('clock skew between hosts', () => {
  test('the emulator sends a Date header from its own clock', async () => {
    const emu = await emulator({ now: START });
    const response = await fetch(emu.url, { method: 'HEAD' });
    assert.equal(response.headers.get('date'), new Date(START).toUTCString());
    emu.clock.advance(2 * HOUR);
    const token = await fetch(`${emu.url}/oauth/v2/token`, { method: 'POST' });
    assert.equal(token.headers.get('date'), new Date(START + 2 * HOUR).toUTCString());
  });

  for (const skews of [
    [0, 15 * MINUTE, -15 * MINUTE],
    [0, 2 * HOUR, -2 * HOUR],
  ]) {
    test(`hosts ${skews.map((s) => `${s / MINUTE} min`).join(', ')} from the server: 0 expired tokens handed out in 6 h`, async (t) => {
      const emu = await emulator({ now: START });
      const store = sqliteStore();
      const hosts = skews.map((skew) => host(emu, store, skew));
      // The login happens on a skewed host: its expiry must not carry that host's clock.
      await login(emu, hosts[1]!, USER);
      const result = await simulate(emu, hosts, 6);
      t.diagnostic(
        `expired ${result.expired} of ${result.handedOut} handed out; refresh requests ${emu.stats().refreshRequests}`,
      );
      assert.equal(result.handedOut, 6 * 60 * hosts.length);
      assert.equal(result.expired, 0, `expired tokens handed out: ${result.expired} of ${result.handedOut}`);
    });
  }

  test('a host that never talked to the accounts server learns its offset before trusting a stored expiry', async () => {
    const emu = await emulator({ now: START });
    const store = sqliteStore();
    const writer = host(emu, store, 0);
    await login(emu, writer, USER);
    emu.clock.advance(HOUR + MINUTE); // expired at the server
    // 15 minutes behind: without its offset, this host sees the token valid for 14 more minutes.
    const reader = host(emu, store, -15 * MINUTE);
    assert.deepEqual(reader.serverClock, { offsetMs: 0, samples: 0 });
    const token = await reader.getAccessToken({ user: USER });
    assert.equal(emu.tokenInfo(token)?.user, USER, 'a token valid at the server');
    assert.equal(emu.stats().byEndpoint['HEAD /'], 1, 'one first-contact request to the configured accounts server');
    const clock = reader.serverClock;
    assert.ok(clock.samples >= 2, `samples: ${clock.samples}`);
    assert.ok(Math.abs(clock.offsetMs - 15 * MINUTE) <= 1000, `offset ${clock.offsetMs} ms`);

    // clockSync 'off': no first contact, the host trusts its own clock (and is fooled by it).
    emu.clock.advance(HOUR + MINUTE);
    const blind = host(emu, store, -15 * MINUTE, { clockSync: 'off' });
    const stale = await blind.getAccessToken({ user: USER });
    assert.equal(emu.tokenInfo(stale), undefined);
    assert.equal(emu.stats().byEndpoint['HEAD /'], 1);
    assert.deepEqual(blind.serverClock, { offsetMs: 0, samples: 0 });
  });

  test('a host in step with the server gets no correction: expiries stay exact', async () => {
    const emu = await emulator({ now: START });
    const auth = host(emu, sqliteStore(), 0);
    const token = await login(emu, auth, USER);
    assert.equal(token.expiresAt, START + HOUR);
    assert.equal(auth.serverClock.offsetMs, 0);
  });

  test('the first contact goes to the configured accounts server, never to the one a row names', async () => {
    const emu = await emulator({ now: START, dataCenters: ['us', 'eu'], clients: [{ ...CLIENT, dc: 'eu' }] });
    const eu = emu.environmentFor('eu');
    const store = sqliteStore();
    await login(emu, host(emu, store, 0, { environment: eu }), USER);
    const before = emu.stats().byDataCenter;
    // Configured for us; the row is bound to eu.
    const reader = host(emu, store, -15 * MINUTE, { environments: [eu] });
    await reader.getAccessToken({ user: USER });
    const after = emu.stats().byDataCenter;
    assert.equal((after['us'] ?? 0) - (before['us'] ?? 0), 1);
    assert.equal((after['eu'] ?? 0) - (before['eu'] ?? 0), 0);
    assert.ok(Math.abs(reader.serverClock.offsetMs - 15 * MINUTE) <= 1000);
  });

  test('ServerClock: bounds intersect, a stepped clock starts afresh, an absurd Date is ignored', () => {
    let local = START;
    const clock = new ServerClock({ now: () => local }, silentLogger);
    const at = (serverMs: number): string => new Date(serverMs).toUTCString();
    // Server 10 min ahead; two answers narrow the estimate to within a second.
    clock.record(at(START + 10 * MINUTE), START - 200, START + 200);
    clock.record(at(START + 10 * MINUTE + 5_700), START + 5_000, START + 5_100);
    assert.ok(Math.abs(clock.state.offsetMs - 10 * MINUTE) <= 1000, String(clock.state.offsetMs));
    assert.equal(clock.now(), local + clock.state.offsetMs);
    // The host's clock is stepped 10 min forward: the next answer contradicts the old bounds.
    local = START + 6_000 + 10 * MINUTE;
    clock.record(at(START + 10 * MINUTE + 6_000), local, local);
    assert.ok(Math.abs(clock.state.offsetMs) <= 1000, String(clock.state.offsetMs));
    // A Date a year off (a broken proxy) or unparsable is not a sample.
    const samples = clock.state.samples;
    clock.record(at(local + 365 * 24 * HOUR), local, local);
    clock.record('yesterday', local, local);
    clock.record(null, local, local);
    assert.equal(clock.state.samples, samples);
  });

  test("ServerClock: a skewed host's expiries start from the earliest server time, never past Zoho's", () => {
    // The server's time has a fraction of a second that its Date header (1 s resolution) drops.
    const server = START + 500;
    for (const skew of [15 * MINUTE, -15 * MINUTE]) {
      const local = server + skew;
      const clock = new ServerClock({ now: () => local }, silentLogger);
      clock.record(new Date(server).toUTCString(), local, local);
      // A token minted now expires at server + expires_in: computed from earliest(), never later.
      assert.ok(
        clock.earliest() <= server,
        `skew ${skew}: earliest ${clock.earliest() - server} ms after the server's time`,
      );
      assert.ok(server - clock.earliest() < 1000, `skew ${skew}: earliest ${server - clock.earliest()} ms early`);
    }
  });

  test('ServerClock: while a measurement is under way, a stored expiry is not judged without it', async () => {
    const local = START;
    const clock = new ServerClock({ now: () => local }, silentLogger);
    let answer!: (response: Response) => void;
    const slow = (() => new Promise<Response>((resolve) => (answer = resolve))) as unknown as typeof fetch;
    const first = clock.sync('http://127.0.0.1:9', slow, 1_000);
    // A second caller must join the measurement, not go on with an unmeasured clock.
    assert.equal(clock.needsSync(), true);
    const second = clock.sync('http://127.0.0.1:9', slow, 1_000);
    answer(new Response(null, { headers: { date: new Date(START + 10 * MINUTE).toUTCString() } }));
    await Promise.all([first, second]);
    assert.equal(clock.state.samples, 1);
    assert.equal(clock.needsSync(), false);
  });
});
