import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { ErrorCode, ZohoClient } from 'zoho-token-store';
import { Readable } from 'node:stream';
import { authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';

const USER = 'bodies@example.com';
const emu = await emulator();
after(() => emu.close());

/** What went on the wire: the request as fetch built it (content type and bytes), then sent on to the emulator. */
interface Sent {
  contentType: string | null;
  bytes: Uint8Array;
}

async function sendAndRecord(body: unknown, headers?: Record<string, string>): Promise<Sent> {
  const store = sqliteStore();
  const auth = authFor(emu, store);
  await login(emu, auth, USER);
  let sent: Sent | undefined;
  const client = new ZohoClient({
    auth,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      sent = {
        contentType: request.headers.get('content-type'),
        bytes: new Uint8Array(await request.clone().arrayBuffer()),
      };
      return fetch(request);
    },
  });
  await client
    .request('POST', '/crm/v8/users', { user: USER, body, ...(headers && { headers }) })
    .catch(() => undefined);
  await store.close();
  assert.ok(sent, 'a request was sent');
  return sent;
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe('ZohoClient request bodies', () => {
  test('FormData goes as multipart/form-data with its boundary, a file byte-exact', async () => {
    const file = new Uint8Array([0, 1, 2, 250, 255, 10, 13]);
    const form = new FormData();
    form.set('file', new Blob([file], { type: 'image/png' }), 'photo.png');
    form.set('note', 'a photo');
    const sent = await sendAndRecord(form);
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(sent.contentType ?? '')?.[1];
    assert.ok(boundary, sent.contentType ?? 'no content type');
    const parsed = await new Response(sent.bytes, { headers: { 'content-type': sent.contentType! } }).formData();
    assert.equal(parsed.get('note'), 'a photo');
    const uploaded = parsed.get('file') as File;
    assert.equal(uploaded.name, 'photo.png');
    assert.deepEqual(new Uint8Array(await uploaded.arrayBuffer()), file);
  });

  test('URLSearchParams as a form; bytes and Blobs as octet-stream unless a type is named; objects as JSON', async () => {
    const form = await sendAndRecord(new URLSearchParams({ a: '1', b: 'x y' }));
    assert.equal(form.contentType, 'application/x-www-form-urlencoded;charset=UTF-8');
    assert.equal(text(form.bytes), 'a=1&b=x+y');
    const bytes = await sendAndRecord(new Uint8Array([1, 2, 3]));
    assert.deepEqual([bytes.contentType, [...bytes.bytes]], ['application/octet-stream', [1, 2, 3]]);
    const typed = await sendAndRecord(new Uint8Array([4]).buffer, { 'Content-Type': 'application/zip' });
    assert.deepEqual([typed.contentType, [...typed.bytes]], ['application/zip', [4]]);
    const blob = await sendAndRecord(new Blob(['csv,data'], { type: 'text/csv' }));
    assert.deepEqual([blob.contentType, text(blob.bytes)], ['text/csv', 'csv,data']);
    const json = await sendAndRecord({ data: [{ Last_Name: 'Lovelace' }] });
    assert.deepEqual([json.contentType, text(json.bytes)], ['application/json', '{"data":[{"Last_Name":"Lovelace"}]}']);
  });

  test('a stream body is refused before anything is sent: it could not be re-sent after a 401 refresh', async () => {
    const store = sqliteStore();
    const auth = authFor(emu, store);
    await login(emu, auth, USER);
    let calls = 0;
    const client = new ZohoClient({ auth, fetch: (input, init) => (calls++, fetch(input, init)) });
    for (const body of [new ReadableStream(), Readable.from(['x'])]) {
      await rejectsWith(client.request('POST', '/crm/v8/users', { user: USER, body }), ErrorCode.INVALID_ARGUMENT);
    }
    assert.equal(calls, 0);
    await store.close();
  });
});
