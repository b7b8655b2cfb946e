// ZohoClient's time limit kept by undici (Node's own fetch, timeoutMs >= 10 s): the answer's headers,
// then each next part of the body; a stall closes the socket, a body that keeps moving is not cut.
// The slow tests wait out a 10 s limit, so they run at once.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { ErrorCode, ZohoClient } from 'zoho-token-store';
import { MIN_SOCKET_TIMEOUT_MS as LIMIT, socketTimeoutDispatcher } from '../src/http/socket-timeouts.js';
import { authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';

const USER = 'socket@example.com';
const emu = await emulator();
after(() => emu.close());
const auth = authFor(emu, sqliteStore());
await login(emu, auth, USER);

/** A server whose answer for each path is scripted by a test; it counts sockets closed before it finished. */
type Script = (res: ServerResponse) => void;
const scripts = new Map<string, Script>();
const closedEarly = new Map<string, number>();
const timers = new Set<NodeJS.Timeout>();
const server = createServer((req, res) => {
  const path = req.url ?? '';
  res.on('close', () => {
    if (!res.writableFinished) closedEarly.set(path, (closedEarly.get(path) ?? 0) + 1);
  });
  const script = scripts.get(path);
  if (script === undefined) res.writeHead(404).end();
  else script(res);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => {
  for (const timer of timers) clearTimeout(timer);
  server.closeAllConnections();
  server.close();
});
const serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const later = (ms: number, fn: () => void): void => {
  const timer = setTimeout(() => {
    timers.delete(timer);
    fn();
  }, ms);
  timers.add(timer);
};
/** Until the server saw the connection of `path` closed early (polls; fails after ~10 s, not a timing assertion). */
async function closedBeforeAnswering(path: string): Promise<void> {
  for (let i = 0; i < 10_000 && closedEarly.get(path) === undefined; i++) await new Promise((r) => setTimeout(r, 1));
  assert.equal(closedEarly.get(path), 1, 'the server saw the connection go before it answered');
}
const client = new ZohoClient({ auth, timeoutMs: LIMIT, services: { scripted: serverUrl } });
const via = { user: USER, service: 'scripted' } as const;

/** The application's own global dispatcher (as undici's setGlobalDispatcher installs one), wrapping the current one. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
type Dispatcher = { dispatch(options: Record<string, unknown>, handler: unknown): boolean };

describe(
  'ZohoClient time limit on the socket (undici): waits out the limit, so these run at once',
  { concurrency: true },
  () => {
    test(
      'no headers within timeoutMs: NETWORK "timed out", and the server sees the connection go',
      { timeout: 6 * LIMIT },
      async () => {
        scripts.set('/hang', () => {}); // never answers
        const started = performance.now();
        const error = await rejectsWith(client.get('/hang', via), ErrorCode.NETWORK);
        assert.ok(performance.now() - started >= LIMIT - 10, 'not before the limit');
        assert.match(error.message, new RegExp(`^GET ${serverUrl}/hang got no answer: timed out after ${LIMIT} ms$`));
        await closedBeforeAnswering('/hang');
      },
    );

    test(
      'a body that stalls for timeoutMs is cut, and the server sees the connection go',
      { timeout: 6 * LIMIT },
      async () => {
        scripts.set('/stall', (res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"data":['); // …and nothing more
        });
        const stalled = await rejectsWith(client.get('/stall', via), ErrorCode.NETWORK);
        assert.match(stalled.message, new RegExp(`timed out after ${LIMIT} ms$`));
        await closedBeforeAnswering('/stall');
      },
    );

    test(
      'an upload whose source stalls is cut at timeoutMs too (undici times no request body: our timer does)',
      { timeout: 6 * LIMIT },
      async () => {
        scripts.set('/upload', () => {}); // reads what comes, never answers
        async function* stalls(): AsyncGenerator<string> {
          yield 'part';
          await new Promise(() => {});
        }
        const started = performance.now();
        const error = await rejectsWith(
          client.request('POST', '/upload', { ...via, body: stalls() }),
          ErrorCode.NETWORK,
        );
        assert.ok(performance.now() - started >= LIMIT - 10, 'not before the limit');
        assert.match(error.message, new RegExp(`timed out after ${LIMIT} ms$`));
      },
    );

    test('a body that keeps moving is read whole, though it takes longer than the limit in all', async () => {
      const parts = 5;
      const gap = Math.ceil((LIMIT * 1.2) / parts); // never a limit without data, 1.2 limits in all
      scripts.set('/trickle', (res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('[0');
        let sent = 1;
        const next = (): void =>
          later(gap, () => {
            if (sent === parts) return void res.end(']');
            res.write(`,${sent++}`);
            next();
          });
        next();
      });
      const started = performance.now();
      assert.deepEqual(await client.get('/trickle', via), [0, 1, 2, 3, 4]);
      assert.ok(performance.now() - started >= LIMIT, 'the body took longer than the limit in all');
    });
  },
);

describe('ZohoClient time limit on the socket (undici)', () => {
  test("Node's Agent gets the limit with each request; 0 and limits under 10 s pass none down", async () => {
    const globals = globalThis as unknown as Record<symbol, Dispatcher>;
    const agent = globals[GLOBAL_DISPATCHER]!;
    const seen: { headersTimeout: unknown; bodyTimeout: unknown; path: unknown }[] = [];
    const dispatch = agent.dispatch;
    // Watch the Agent itself (an own property over its class's method), not a replacement of it.
    agent.dispatch = function (options, handler) {
      seen.push({ headersTimeout: options.headersTimeout, bodyTimeout: options.bodyTimeout, path: options.path });
      return dispatch.call(this, options, handler);
    };
    try {
      const timed = new ZohoClient({ auth, timeoutMs: 12_000 });
      await timed.get('/crm/v8/org', { user: USER });
      await timed.get('/crm/v8/users', { user: USER, query: { type: 'AllUsers' } });
      assert.deepEqual(seen, [
        { headersTimeout: 12_000, bodyTimeout: 12_000, path: '/crm/v8/org' },
        { headersTimeout: 12_000, bodyTimeout: 12_000, path: '/crm/v8/users?type=AllUsers' },
      ]);
      // 0: ours is off, undici's own defaults stay (none passed down).
      seen.length = 0;
      await new ZohoClient({ auth, timeoutMs: 0 }).get('/crm/v8/org', { user: USER });
      // Under 10 s our own timer keeps the limit (connecting included): none is passed down.
      await new ZohoClient({ auth, timeoutMs: LIMIT - 1 }).get('/crm/v8/org', { user: USER });
      assert.deepEqual(seen, [
        { headersTimeout: undefined, bodyTimeout: undefined, path: '/crm/v8/org' },
        { headersTimeout: undefined, bodyTimeout: undefined, path: '/crm/v8/org' },
      ]);
    } finally {
      delete (agent as Partial<Dispatcher>).dispatch;
    }
    assert.equal(agent.dispatch, dispatch);
  });

  test("a global dispatcher of the application's installed after the client is made is used as it is, with no limit of ours handed to it", async () => {
    const globals = globalThis as unknown as Record<symbol, Dispatcher>;
    const original = globals[GLOBAL_DISPATCHER]!;
    const seen: unknown[] = [];
    const proxyLike: Dispatcher = {
      dispatch(options, handler) {
        seen.push(options.headersTimeout);
        return original.dispatch(options, handler);
      },
    };
    const before = new ZohoClient({ auth, timeoutMs: LIMIT }); // Node's Agent is in force now
    globals[GLOBAL_DISPATCHER] = proxyLike;
    try {
      await before.get('/crm/v8/org', { user: USER });
      await new ZohoClient({ auth, timeoutMs: LIMIT }).get('/crm/v8/org', { user: USER });
      assert.deepEqual(seen, [undefined, undefined], 'no limit handed to a dispatcher that might not keep it');
    } finally {
      globals[GLOBAL_DISPATCHER] = original;
    }
  });

  test('only an undici Agent made without options is trusted to keep the limit on the socket', async () => {
    const globals = globalThis as unknown as Record<symbol, Dispatcher>;
    const original = globals[GLOBAL_DISPATCHER]!;
    // The class of Node's own Agent, as an application's `new Agent(…)` from undici would be.
    const Agent = original.constructor as new (options?: object) => Dispatcher & { close(): Promise<void> };
    const cases: [string, (Dispatcher & { close?(): Promise<void> }) | undefined, boolean][] = [
      ["Node's own", undefined, true],
      ['new Agent()', new Agent(), true],
      ['HTTP/2 (no timeouts on undici 6)', new Agent({ allowH2: true }), false],
      ['its own connect (a SOCKS tunnel)', new Agent({ connect: () => {} }), false],
      ['a limit on connections (a queue no headers timer covers)', new Agent({ connections: 2 }), false],
      ['a proxy or mock of another class', { dispatch: (o, h) => original.dispatch(o, h) }, false],
    ];
    try {
      for (const [what, dispatcher, trusted] of cases) {
        globals[GLOBAL_DISPATCHER] = dispatcher ?? original;
        assert.equal(socketTimeoutDispatcher(fetch, LIMIT) !== undefined, trusted, what);
      }
    } finally {
      globals[GLOBAL_DISPATCHER] = original;
      for (const [, dispatcher] of cases) await dispatcher?.close?.();
    }
  });

  test("the usual headers object is shared only with Node's own fetch: another fetch may change what it gets", async () => {
    const sent: (string | undefined)[] = [];
    let n = 0;
    const tagging: typeof fetch = (input, init) => {
      const headers = init!.headers as Record<string, string>;
      sent.push(headers['x-request-id']);
      headers['x-request-id'] ??= `req-${++n}`;
      return fetch(input, init);
    };
    const client = new ZohoClient({ auth, fetch: tagging });
    for (let i = 0; i < 3; i++) await client.get('/crm/v8/org', { user: USER });
    assert.deepEqual(sent, [undefined, undefined, undefined]);
  });

  test('timeoutMs beyond what a Node timer takes is refused', () => {
    for (const timeoutMs of [2 ** 31, Number.MAX_SAFE_INTEGER, -1, Number.NaN]) {
      assert.throws(
        () => new ZohoClient({ auth, timeoutMs }),
        (e: { code?: string; field?: string }) => e.code === ErrorCode.INVALID_ARGUMENT && e.field === 'timeoutMs',
      );
    }
    assert.equal(new ZohoClient({ auth, timeoutMs: 2 ** 31 - 1 }).auth, auth);
  });

  test("a caller's signal still aborts (ABORTED) and leaves no listener on a long-lived signal", async () => {
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

describe("an application's Agent installed before the client: not trusted, our timer keeps the limit", () => {
  // A regression would hang here: the test's own time limit turns that into a failure.
  test(
    'a connect of its own that never completes (a dead SOCKS proxy): NETWORK at the limit, not a hang',
    { timeout: 6 * LIMIT },
    async () => {
      const globals = globalThis as unknown as Record<symbol, Dispatcher>;
      const original = globals[GLOBAL_DISPATCHER]!;
      const Agent = original.constructor as new (options?: object) => Dispatcher & { destroy(): Promise<void> };
      const socks = new Agent({ connect: () => {} }); // never calls back: no socket, so no undici timer starts
      globals[GLOBAL_DISPATCHER] = socks;
      try {
        const viaSocks = new ZohoClient({ auth, timeoutMs: LIMIT, services: { scripted: serverUrl } });
        const error = await rejectsWith(viaSocks.get('/never-reached', via), ErrorCode.NETWORK);
        assert.match(
          error.message,
          new RegExp(`^GET ${serverUrl}/never-reached got no answer: timed out after ${LIMIT} ms$`),
        );
      } finally {
        globals[GLOBAL_DISPATCHER] = original;
        // Its connection attempt never ends: destroy, do not wait for it (close would).
        void socks.destroy();
      }
    },
  );
});
