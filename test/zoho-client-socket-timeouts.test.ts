// ZohoClient's time limit kept by undici (Node's own fetch, timeoutMs >= 1 s): the answer's headers,
// then each next part of the body; a stall closes the socket, a body that keeps moving is not cut.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { ErrorCode, ZohoClient } from 'zoho-token-store';
import { authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';

const USER = 'socket@example.com';
const emu = await emulator();
after(() => emu.close());
const auth = authFor(emu, sqliteStore());
await login(emu, auth, USER);

/** What each request to the body server does with its response; the server counts closed sockets. */
type Script = (res: ServerResponse) => void;
let script: Script = (res) => res.end('{}');
let closedEarly = 0;
const timers = new Set<NodeJS.Timeout>();
const bodyServer = createServer((_req, res) => {
  res.on('close', () => {
    if (!res.writableFinished) closedEarly++;
  });
  script(res);
});
await new Promise<void>((resolve) => bodyServer.listen(0, '127.0.0.1', resolve));
after(() => {
  for (const timer of timers) clearTimeout(timer);
  bodyServer.closeAllConnections();
  bodyServer.close();
});
const bodyUrl = `http://127.0.0.1:${(bodyServer.address() as AddressInfo).port}`;
const later = (ms: number, fn: () => void): void => {
  const timer = setTimeout(() => {
    timers.delete(timer);
    fn();
  }, ms);
  timers.add(timer);
};

/** The application's own global dispatcher (as undici's setGlobalDispatcher installs one), wrapping the current one. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
type Dispatcher = { dispatch(options: Record<string, unknown>, handler: unknown): boolean };

describe('ZohoClient time limit on the socket (undici)', () => {
  test('no headers within timeoutMs: NETWORK "timed out", and the server sees the connection go', async () => {
    const client = new ZohoClient({ auth, timeoutMs: 1_000 });
    const before = emu.stats().clientAborts;
    const fault = emu.faults.inject({ kind: 'latency', ms: 60_000, target: 'api', times: 1 });
    const started = performance.now();
    const error = await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.NETWORK);
    assert.ok(performance.now() - started >= 990, 'not before the limit');
    assert.match(error.message, /GET http:\/\/127\.0\.0\.1:\d+\/crm\/v8\/org got no answer: timed out after 1000 ms/);
    for (let i = 0; i < 10_000 && emu.stats().clientAborts === before; i++) await new Promise((r) => setTimeout(r, 1));
    assert.equal(emu.stats().clientAborts, before + 1);
    fault.remove();
    // The client is still usable: the next call is answered.
    const org = (await client.get('/crm/v8/org', { user: USER })) as { org: { company_name: string }[] };
    assert.equal(org.org[0]?.company_name, 'Emulated Org');
  });

  test('a body that stalls for timeoutMs is cut (socket closed); one that keeps moving is read whole', async () => {
    const client = new ZohoClient({ auth, timeoutMs: 1_000, services: { body: bodyUrl } });
    script = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":[');
      // …and nothing more.
    };
    const before = closedEarly;
    const stalled = await rejectsWith(client.get('/x', { user: USER, service: 'body' }), ErrorCode.NETWORK);
    assert.match(stalled.message, /timed out after 1000 ms/);
    for (let i = 0; i < 10_000 && closedEarly === before; i++) await new Promise((r) => setTimeout(r, 1));
    assert.equal(closedEarly, before + 1);

    // Six parts 400 ms apart: 2 s in all, twice the limit, never 1 s without data.
    script = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[0');
      let sent = 1;
      const next = (): void =>
        later(400, () => {
          if (sent === 6) return void res.end(']');
          res.write(`,${sent++}`);
          next();
        });
      next();
    };
    const started = performance.now();
    const parts = await client.get('/x', { user: USER, service: 'body' });
    assert.deepEqual(parts, [0, 1, 2, 3, 4, 5]);
    assert.ok(performance.now() - started >= 1_900, 'the body took longer than the limit in all');
  });

  test("requests go through the application's global dispatcher (a proxy agent stays in force), with the limit set", async () => {
    const seen: { headersTimeout: unknown; bodyTimeout: unknown; path: unknown }[] = [];
    const globals = globalThis as unknown as Record<symbol, Dispatcher>;
    const original = globals[GLOBAL_DISPATCHER]!;
    globals[GLOBAL_DISPATCHER] = {
      dispatch(options, handler) {
        seen.push({ headersTimeout: options.headersTimeout, bodyTimeout: options.bodyTimeout, path: options.path });
        return original.dispatch(options, handler);
      },
    };
    try {
      const client = new ZohoClient({ auth, timeoutMs: 7_000 });
      await client.get('/crm/v8/org', { user: USER });
      await client.get('/crm/v8/users', { user: USER, query: { type: 'AllUsers' } });
      assert.deepEqual(seen, [
        { headersTimeout: 7_000, bodyTimeout: 7_000, path: '/crm/v8/org' },
        { headersTimeout: 7_000, bodyTimeout: 7_000, path: '/crm/v8/users?type=AllUsers' },
      ]);
      // timeoutMs 0: no limit at all (undici's own 300 s defaults do not apply either).
      seen.length = 0;
      await new ZohoClient({ auth, timeoutMs: 0 }).get('/crm/v8/org', { user: USER });
      assert.deepEqual(seen, [{ headersTimeout: 0, bodyTimeout: 0, path: '/crm/v8/org' }]);
      // Under 1 s undici's half-second tick would be late: our own timer keeps it, no limit is passed down.
      seen.length = 0;
      await new ZohoClient({ auth, timeoutMs: 500 }).get('/crm/v8/org', { user: USER });
      assert.deepEqual(seen, [{ headersTimeout: undefined, bodyTimeout: undefined, path: '/crm/v8/org' }]);
    } finally {
      globals[GLOBAL_DISPATCHER] = original;
    }
  });

  test("a caller's signal still aborts (ABORTED) and leaves no listener on a long-lived signal", async () => {
    const client = new ZohoClient({ auth });
    const app = new AbortController();
    for (let i = 0; i < 20; i++) await client.get('/crm/v8/org', { user: USER, signal: app.signal });
    assert.equal(getEventListeners(app.signal, 'abort').length, 0);
    const requestsBefore = emu.stats().apiRequests;
    const fault = emu.faults.inject({ kind: 'latency', ms: 60_000, target: 'api', times: 1 });
    const call = client.get('/crm/v8/org', { user: USER, signal: app.signal });
    while (emu.stats().apiRequests === requestsBefore) await new Promise((r) => setImmediate(r));
    app.abort(new Error('user went away'));
    await rejectsWith(call, ErrorCode.ABORTED);
    fault.remove();
  });
});
