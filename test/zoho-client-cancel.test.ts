import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { ErrorCode, ZohoClient } from 'zoho-token-store';
import type { ZohoEmulator } from 'zoho-token-store/emulator';
import { authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';

const USER = 'slow@example.com';
const emu = await emulator();
after(() => emu.close());

/** Until the emulator has seen `count` client aborts in all (polls; fails after ~10 s, not a timing assertion). */
async function clientAbortsReach(server: ZohoEmulator, count: number): Promise<void> {
  for (let i = 0; i < 10_000 && server.stats().clientAborts < count; i++) await new Promise((r) => setTimeout(r, 1));
  assert.equal(server.stats().clientAborts, count, 'the emulator saw the connection closed before it answered');
}

describe('ZohoClient cancels the HTTP request', () => {
  test('a timeout closes the request: the server sees the connection go while it is still answering', async () => {
    const auth = authFor(emu, sqliteStore());
    await login(emu, auth, USER);
    const client = new ZohoClient({ auth, timeoutMs: 50 });
    const before = emu.stats().clientAborts;
    const fault = emu.faults.inject({ kind: 'latency', ms: 60_000, target: 'api', times: 1 });
    const error = await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.NETWORK);
    assert.match(error.message, /timed out after 50 ms/);
    await clientAbortsReach(emu, before + 1);
    fault.remove();
  });

  test('a fetch installed on globalThis later (a mock that ignores its signal) still times out, with a real AbortSignal', async () => {
    const auth = authFor(emu, sqliteStore());
    await login(emu, auth, USER);
    const original = globalThis.fetch;
    const signals: unknown[] = [];
    globalThis.fetch = (_input: string | URL | Request, init?: RequestInit) => {
      signals.push(init?.signal);
      return new Promise<Response>(() => {}); // never answers, never looks at its signal
    };
    try {
      const client = new ZohoClient({ auth, timeoutMs: 50 });
      const error = await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.NETWORK);
      assert.match(error.message, /timed out after 50 ms/);
      assert.equal(signals.length, 1);
      assert.ok(signals[0] instanceof AbortSignal, 'the mock got a real AbortSignal');
    } finally {
      globalThis.fetch = original;
    }
  });

  test('an AbortSignal during HTTP: ABORTED, and the server sees the connection go', async () => {
    const auth = authFor(emu, sqliteStore());
    await login(emu, auth, USER);
    const client = new ZohoClient({ auth });
    const before = emu.stats().clientAborts;
    const requestsBefore = emu.stats().apiRequests;
    emu.faults.inject({ kind: 'latency', ms: 60_000, target: 'api', times: 1 });
    const controller = new AbortController();
    const call = client.get('/crm/v8/org', { user: USER, signal: controller.signal });
    // Abort once the request is at the server (it waits there for a minute).
    while (emu.stats().apiRequests === requestsBefore) await tick();
    controller.abort(new Error('user went away'));
    await rejectsWith(call, ErrorCode.ABORTED);
    await clientAbortsReach(emu, before + 1);
  });

  test('an AbortSignal during a stream upload: ABORTED, and the source is closed', async () => {
    const auth = authFor(emu, sqliteStore());
    await login(emu, auth, USER);
    const client = new ZohoClient({ auth });
    const controller = new AbortController();
    let closed = false;
    let sent = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) {
          sent++;
          yield new Uint8Array(16_384);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      } finally {
        closed = true;
      }
    }
    const call = client.request('POST', `/crm/v8/Leads/1/Attachments`, {
      user: USER,
      body: endless(),
      headers: { 'Content-Type': 'multipart/form-data; boundary=x' },
      signal: controller.signal,
    });
    while (sent < 3) await tick();
    controller.abort(new Error('user went away'));
    await rejectsWith(call, ErrorCode.ABORTED);
    // The generator may be inside its 5 ms wait: its finally runs at its next yield (polls for ~10 s at most).
    for (let i = 0; i < 10_000 && !closed; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(closed, true, "the source generator's finally ran");
  });

  test('a stream body is cancelled by the signal after the headers came', async () => {
    const auth = authFor(emu, sqliteStore());
    await login(emu, auth, USER);
    const client = new ZohoClient({ auth });
    const controller = new AbortController();
    const answer = await client.get('/crm/v8/org', { user: USER, responseType: 'stream', signal: controller.signal });
    controller.abort(new Error('enough'));
    await assert.rejects(new Response(answer.body).text());
  });

  test('a fetch other than the built-in one gets a real AbortSignal (it may check the class)', async () => {
    const auth = authFor(emu, sqliteStore());
    await login(emu, auth, USER);
    const signals: unknown[] = [];
    const client = new ZohoClient({
      auth,
      fetch: (input, init) => {
        signals.push(init?.signal);
        return fetch(input, init);
      },
    });
    await client.get('/crm/v8/org', { user: USER });
    assert.equal(signals.length, 1);
    assert.ok(signals[0] instanceof AbortSignal);
  });
});
