import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { ErrorCode, ZohoClient, type ZohoClientOptions } from 'zoho-token-store';
import { authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';

const USER = 'busy@example.com';
const emu = await emulator();
after(() => emu.close());

/** A client whose waits are recorded, not slept (no timed tests). */
async function clientWith(rateLimit: ZohoClientOptions['rateLimit'] = {}, fetchFn?: typeof fetch) {
  const auth = authFor(emu, sqliteStore());
  await login(emu, auth, USER);
  const waits: number[] = [];
  const client = new ZohoClient({
    auth,
    ...(fetchFn && { fetch: fetchFn }),
    rateLimit: { sleep: async (ms) => void waits.push(ms), ...rateLimit },
  });
  return { client, waits };
}

describe('ZohoClient and API 429 TOO_MANY_REQUESTS', () => {
  test('retries after Retry-After and succeeds; the fault answered 429 twice', async () => {
    const { client, waits } = await clientWith();
    const before = emu.stats().apiRequests;
    emu.faults.inject({ kind: 'throttle', target: 'api', times: 2, retryAfterSeconds: 3 });
    const org = await client.get<{ org: unknown[] }>('/crm/v8/org', { user: USER });
    assert.equal(org?.org.length, 1);
    assert.deepEqual(waits, [3000, 3000]);
    assert.equal(emu.stats().apiRequests - before, 3);
  });

  test('exhausted retries: RATE_LIMITED with status 429, retryAfterMs and the API error as cause', async () => {
    const { client, waits } = await clientWith({ maxRetries: 2 });
    const fault = emu.faults.inject({ kind: 'throttle', target: 'api', retryAfterSeconds: 7 });
    try {
      const error = await rejectsWith(client.get('/crm/v8/org', { user: USER }), ErrorCode.RATE_LIMITED);
      assert.equal(error.retryAfterMs, 7000);
      assert.equal(error.status, 429);
      assert.equal(error.apiCode, 'TOO_MANY_REQUESTS');
      assert.equal((error.cause as { apiCode?: string }).apiCode, 'TOO_MANY_REQUESTS');
      assert.deepEqual(waits, [7000, 7000]);
    } finally {
      fault.remove();
    }
  });

  test('no Retry-After: doubling back-off; maxRetries 0 fails at once; maxTotalWaitMs stops before a long wait', async () => {
    const backoff = await clientWith({ defaultWaitMs: 250 });
    emu.faults.inject({ kind: 'throttle', target: 'api', times: 2 });
    await backoff.client.get('/crm/v8/org', { user: USER });
    assert.deepEqual(backoff.waits, [250, 500]);

    const none = await clientWith({ maxRetries: 0 });
    emu.faults.inject({ kind: 'throttle', target: 'api', times: 1, retryAfterSeconds: 2 });
    const error = await rejectsWith(none.client.get('/crm/v8/org', { user: USER }), ErrorCode.RATE_LIMITED);
    assert.equal(error.retryAfterMs, 2000);
    assert.deepEqual(none.waits, []);

    const capped = await clientWith({ maxRetries: 5, maxTotalWaitMs: 30_000 });
    emu.faults.inject({ kind: 'throttle', target: 'api', times: 3, retryAfterSeconds: 20 });
    const long = await rejectsWith(capped.client.get('/crm/v8/org', { user: USER }), ErrorCode.RATE_LIMITED);
    assert.equal(long.retryAfterMs, 20_000);
    assert.deepEqual(capped.waits, [20_000], 'the second 20 s wait would pass 30 s in total');
    emu.faults.clear('api');
  });

  test('a stream body is sent once: a 429 is RATE_LIMITED at once with retryAfterMs, nothing waited or sent again', async () => {
    const { client, waits } = await clientWith({ maxRetries: 5 });
    const before = emu.stats().apiRequests;
    emu.faults.inject({ kind: 'throttle', target: 'api', times: 1, retryAfterSeconds: 4 });
    const body = new Blob(['{"data":[{"Last_Name":"Busy"}]}']).stream();
    const error = await rejectsWith(
      client.request('POST', '/crm/v8/Leads', { user: USER, body, headers: { 'Content-Type': 'application/json' } }),
      ErrorCode.RATE_LIMITED,
    );
    assert.deepEqual([error.status, error.retryAfterMs], [429, 4000]);
    assert.match(error.message, /^POST \/crm\/v8\/Leads \(a stream body is sent once\) answered HTTP 429/);
    assert.deepEqual(waits, []);
    assert.equal(emu.stats().apiRequests - before, 1);
  });

  test('the abort signal cuts a retry wait (the default timer): ABORTED, no further request', async () => {
    const auth = authFor(emu, sqliteStore());
    await login(emu, auth, USER);
    const controller = new AbortController();
    let requests = 0;
    const client = new ZohoClient({
      auth,
      fetch: async (input, init) => {
        requests++;
        const response = await fetch(input, init);
        // The 429 is in: abort while the client waits 25 s.
        if (response.status === 429) setImmediate(() => controller.abort(new Error('shutting down')));
        return response;
      },
    });
    const fault = emu.faults.inject({ kind: 'throttle', target: 'api', retryAfterSeconds: 25 });
    try {
      await rejectsWith(client.get('/crm/v8/org', { user: USER, signal: controller.signal }), ErrorCode.ABORTED);
      assert.equal(requests, 1);
    } finally {
      fault.remove();
    }
  });

  test('Retry-After as an HTTP-date is read against the injected clock', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    let calls = 0;
    const { client, waits } = await clientWith({ now: () => now }, async (input, init) => {
      if (calls++ > 0) return fetch(input, init);
      return new Response('{"code":"TOO_MANY_REQUESTS","status":"error"}', {
        status: 429,
        headers: { 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT', 'content-type': 'application/json' },
      });
    });
    await client.get('/crm/v8/org', { user: USER });
    assert.deepEqual(waits, [5000]);
  });

  test('without Retry-After, X-RATELIMIT-RESET gives the wait: epoch ms, epoch seconds, or seconds from now', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    let reset = '';
    let limited = false;
    const { client, waits } = await clientWith({ now: () => now, defaultWaitMs: 700 }, async (input, init) => {
      if (!limited) return fetch(input, init);
      limited = false;
      return new Response('{"code":"TOO_MANY_REQUESTS","status":"error"}', {
        status: 429,
        headers: { 'x-ratelimit-reset': reset, 'content-type': 'application/json' },
      });
    });
    const cases: [string, number][] = [
      [String(now + 4_000), 4_000],
      [String(now / 1000 + 6), 6_000],
      ['9', 9_000],
      [String(now - 5_000), 0], // already past: no wait
      ['soon', 700], // not a number: the default wait
    ];
    for (const [header, expected] of cases) {
      reset = header;
      waits.length = 0;
      limited = true;
      await client.get('/crm/v8/org', { user: USER });
      assert.deepEqual(waits, [expected], header);
    }
  });

  test('a Retry-After that is neither seconds nor an IMF-fixdate ("-1", an ISO date) falls back to the default wait', async () => {
    let header = '';
    let limited = false;
    const { client, waits } = await clientWith({ defaultWaitMs: 700 }, async (input, init) => {
      if (!limited) return fetch(input, init);
      limited = false;
      return new Response('{"code":"TOO_MANY_REQUESTS","status":"error"}', {
        status: 429,
        headers: { 'retry-after': header, 'content-type': 'application/json' },
      });
    });
    for (header of ['-1', '+5', '2001-01-01', 'soon']) {
      waits.length = 0;
      limited = true;
      await client.get('/crm/v8/org', { user: USER });
      assert.deepEqual(waits, [700], header);
    }
  });

  test('bad rateLimit options are INVALID_ARGUMENT naming the field', async () => {
    const auth = authFor(emu, sqliteStore());
    for (const [rateLimit, field] of [
      [{ maxRetries: -1 }, 'rateLimit.maxRetries'],
      [{ maxTotalWaitMs: Infinity }, 'rateLimit.maxTotalWaitMs'],
      // A Node timer above 2^31 - 1 ms would fire at once.
      [{ maxTotalWaitMs: 2 ** 31 }, 'rateLimit.maxTotalWaitMs'],
      [{ sleep: 5 }, 'rateLimit.sleep'],
    ] as const) {
      assert.throws(
        () => new ZohoClient({ auth, rateLimit: rateLimit as never }),
        (error: { code?: string; field?: string }) =>
          error.code === ErrorCode.INVALID_ARGUMENT && error.field === field,
      );
    }
  });
});
