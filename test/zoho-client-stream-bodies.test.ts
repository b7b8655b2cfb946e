import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable, Stream } from 'node:stream';
import { after, describe, test } from 'node:test';
import { ErrorCode, ZohoClient } from 'zoho-token-store';
import { authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';

const USER = 'stream-bodies@example.com';
const emu = await emulator();
after(() => emu.close());
const auth = authFor(emu, sqliteStore());
await login(emu, auth, USER);

/** What the test server saw of one request: its bytes, and whether its body came to a proper end. */
interface Received {
  bytes: number;
  complete: boolean;
  /** The connection closed (after the end, or instead of it). */
  closed: boolean;
}

/**
 * An API host of the application's own (configured as service "own", so trusted): `/echo` answers
 * 200 at once and echoes the body; `/moved` answers 307; `/slow` reads and never answers.
 */
async function ownServer(): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const seen: Received = { bytes: 0, complete: false, closed: false };
    received.push(seen);
    request.on('data', (chunk: Buffer) => (seen.bytes += chunk.length));
    request.on('end', () => (seen.complete = true));
    request.on('close', () => (seen.closed = true));
    if (request.url === '/echo') {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      request.pipe(response);
    } else if (request.url === '/early') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      request.resume();
    } else if (request.url === '/moved') {
      response.writeHead(307, { location: '/echo', 'content-type': 'application/json' });
      response.end('{"code":"MOVED","message":"moved"}');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Each body is refused (INVALID_ARGUMENT on `body`) and no request reaches the API. */
async function refusedBeforeSending(bodies: readonly unknown[]): Promise<void> {
  const client = new ZohoClient({ auth });
  const before = emu.stats().apiRequests;
  for (const body of bodies) {
    const error = await rejectsWith(
      client.request('POST', '/crm/v8/Leads', { user: USER, body }),
      ErrorCode.INVALID_ARGUMENT,
    );
    assert.equal(error.field, 'body');
  }
  assert.equal(emu.stats().apiRequests, before);
}

const chunks = async function* (count: number, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < count; i++) {
    yield new Uint8Array(size).fill(i);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

describe('ZohoClient stream bodies: whole or not at all', () => {
  test('an answer that comes before the upload ends does not cut it: the server gets every byte', async () => {
    const own = await ownServer();
    try {
      const client = new ZohoClient({ auth, services: { own: own.url } });
      const answer = await client.request('POST', '/echo', {
        user: USER,
        service: 'own',
        body: chunks(20, 1_000),
        responseType: 'stream',
      });
      let echoed = 0;
      for await (const chunk of answer.body) echoed += chunk.length;
      assert.equal(echoed, 20_000);
      assert.deepEqual(own.received, [{ bytes: 20_000, complete: true, closed: true }]);
    } finally {
      await own.close();
    }
  });

  test('an answer before the upload ends, then a source that stalls: the rest is cut at timeoutMs and the source closed', async () => {
    const own = await ownServer();
    try {
      const client = new ZohoClient({ auth, timeoutMs: 300, services: { own: own.url } });
      const source = Readable.from(
        (async function* () {
          yield 'part';
          await new Promise(() => {});
        })(),
      );
      assert.deepEqual(await client.request('POST', '/early', { user: USER, service: 'own', body: source }), {
        ok: true,
      });
      // Polled (fails after ~10 s, not a timing assertion).
      for (let i = 0; i < 1_000 && !source.destroyed; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(source.destroyed, true);
      // Never ended as if whole (undici leaves that connection to the server's own timeouts).
      assert.deepEqual(
        own.received.map(({ bytes, complete }) => ({ bytes, complete })),
        [{ bytes: 4, complete: false }],
      );
    } finally {
      await own.close();
    }
  });

  test('a 307 is the answer (API_ERROR with its status), not a NETWORK error with an empty message', async () => {
    const own = await ownServer();
    try {
      const client = new ZohoClient({ auth, services: { own: own.url } });
      const error = await rejectsWith(
        client.request('POST', '/moved', { user: USER, service: 'own', body: chunks(2, 10) }),
        ErrorCode.API_ERROR,
      );
      assert.deepEqual([error.status, error.apiCode], [307, 'MOVED']);
      assert.equal(own.received.length, 1, 'not followed');
    } finally {
      await own.close();
    }
  });

  test('nothing is read of a stream before the call is known to go out (AUTH_REQUIRED, unknown service)', async () => {
    const client = new ZohoClient({ auth });
    let started = false;
    async function* source(): AsyncGenerator<string> {
      started = true;
      yield 'x';
    }
    let pulled = false;
    const web = new ReadableStream(
      {
        pull(controller) {
          pulled = true;
          controller.enqueue(new Uint8Array([1]));
        },
      },
      { highWaterMark: 0 }, // the stream itself reads nothing ahead: any pull is ours
    );
    await rejectsWith(
      client.request('POST', '/crm/v8/Leads', { user: 'nobody@example.com', body: source() }),
      ErrorCode.AUTH_REQUIRED,
    );
    await rejectsWith(
      client.request('POST', '/x', { user: USER, service: 'no-such-service', body: web }),
      ErrorCode.INVALID_ARGUMENT,
    );
    assert.deepEqual([started, pulled, web.locked], [false, false, false]);
  });

  test('a stream already read, ended or locked is INVALID_ARGUMENT before anything is sent', async () => {
    const read = Readable.from(['a', 'b']);
    for await (const chunk of read) assert.ok(chunk);
    const started = Readable.from(['a', 'b']);
    started.read();
    const disturbed = new Blob(['abc']).stream();
    const reader = disturbed.getReader();
    await reader.read();
    reader.releaseLock();
    const locked = new Blob(['abc']).stream();
    locked.getReader();
    await refusedBeforeSending([read, started, disturbed, locked]);
  });

  test('an old-style stream, a circular object, a function or a symbol is INVALID_ARGUMENT, never sent as "{}" or nothing', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await refusedBeforeSending([new Stream(), circular, () => 1, Symbol('s')]);
  });

  test('a source stalled in a read is closed when the call is aborted: a Node stream destroyed, a web stream cancelled', async () => {
    const client = new ZohoClient({ auth });
    const stalled = new PassThrough();
    stalled.write(new Uint8Array(100)); // one chunk, then nothing: the next read waits forever
    let cancelled: unknown;
    let pulls = 0;
    const web = new ReadableStream({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(new Uint8Array(100));
        return new Promise(() => {}); // never more
      },
      cancel(reason) {
        cancelled = reason ?? 'cancelled';
      },
    });
    for (const body of [stalled, web]) {
      const controller = new AbortController();
      const call = client.request('POST', '/crm/v8/Leads', { user: USER, body, signal: controller.signal });
      setTimeout(() => controller.abort(new Error('user went away')), 50);
      await rejectsWith(call, ErrorCode.ABORTED);
    }
    // Polled (fails after ~10 s, not a timing assertion).
    for (let i = 0; i < 1_000 && !(stalled.destroyed && cancelled !== undefined); i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(stalled.destroyed, true);
    assert.notEqual(cancelled, undefined);
  });

  test('a source that stalls is cut by timeoutMs (the timer bounds the whole exchange)', async () => {
    const client = new ZohoClient({ auth, timeoutMs: 200 });
    async function* stalls(): AsyncGenerator<string> {
      yield '{"data":';
      await new Promise(() => {});
    }
    const error = await rejectsWith(
      client.request('POST', '/crm/v8/Leads', {
        user: USER,
        body: stalls(),
        headers: { 'Content-Type': 'application/json' },
      }),
      ErrorCode.NETWORK,
    );
    assert.match(error.message, /timed out after 200 ms/);
  });
});
