import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { ErrorCode, ZohoClient } from 'zoho-token-store';
import { openAsBlob, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';
import { tempDir } from './helpers/temp.js';

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

  test('a ReadableStream or Node stream goes as the bytes read while sending: strings as UTF-8, octet-stream unless a type is named', async () => {
    const web = new ReadableStream<unknown>({
      start(controller) {
        controller.enqueue(new Uint8Array([0, 1, 255]));
        controller.enqueue('é');
        controller.enqueue(new Uint8Array([7, 8, 9]).buffer);
        controller.close();
      },
    });
    const sentWeb = await sendAndRecord(web);
    assert.deepEqual(
      [sentWeb.contentType, [...sentWeb.bytes]],
      ['application/octet-stream', [0, 1, 255, 0xc3, 0xa9, 7, 8, 9]],
    );
    const node = Readable.from([
      Buffer.from('ab'),
      'cd',
      new Uint16Array([0x4241]),
      new DataView(new Uint8Array([69]).buffer),
    ]);
    const sentNode = await sendAndRecord(node, { 'Content-Type': 'text/plain' });
    assert.deepEqual([sentNode.contentType, text(sentNode.bytes)], ['text/plain', 'abcdABE']);
  });

  test('a stream chunk that is not bytes or text, or a source that fails, is INVALID_ARGUMENT and nothing is created', async () => {
    const store = sqliteStore();
    const auth = authFor(emu, store);
    await login(emu, auth, USER);
    const client = new ZohoClient({ auth });
    const count = async (): Promise<number> =>
      (await client.get<{ data: unknown[] }>('/crm/v8/Leads', { user: USER, query: { fields: 'Last_Name' } }))?.data
        .length ?? 0;
    const before = await count();
    const headers = { 'Content-Type': 'application/json' };
    const objects = Readable.from(['{"data":[{"Last_Name":"Half"', { not: 'bytes' }, ']}']);
    const bad = await rejectsWith(
      client.request('POST', '/crm/v8/Leads', { user: USER, body: objects, headers }),
      ErrorCode.INVALID_ARGUMENT,
    );
    assert.equal(bad.field, 'body');
    assert.match(bad.message, /a stream chunk must be bytes or a string/);
    async function* failing(): AsyncGenerator<string> {
      yield '{"data":[{"Last_Name":"Half"';
      throw new Error('disk gone');
    }
    const failed = await rejectsWith(
      client.request('POST', '/crm/v8/Leads', { user: USER, body: failing(), headers }),
      ErrorCode.INVALID_ARGUMENT,
    );
    assert.equal(failed.message, 'body: the stream failed while it was sent: disk gone');
    assert.equal((failed.cause as Error).message, 'disk gone');
    assert.equal(await count(), before);
    await store.close();
  });

  test('a stream is sent once: after a 401 the token is refreshed and the call fails, a new stream then goes through', async () => {
    const store = sqliteStore();
    const auth = authFor(emu, store);
    await login(emu, auth, USER);
    const client = new ZohoClient({ auth });
    const lead = (name: string): ReadableStream<Uint8Array> =>
      new Blob([JSON.stringify({ data: [{ Last_Name: name }] })]).stream();
    const headers = { 'Content-Type': 'application/json' };
    emu.expireAccessTokens(); // Zoho kills the token; our cache still believes it valid
    const before = emu.stats();
    const error = await rejectsWith(
      client.request('POST', '/crm/v8/Leads', { user: USER, body: lead('Once'), headers }),
      ErrorCode.API_ERROR,
    );
    assert.deepEqual([error.status, error.apiCode], [401, 'INVALID_TOKEN']);
    assert.match(
      error.message,
      /^POST \/crm\/v8\/Leads \(a stream body is sent once; the token is refreshed now: call again with a new stream\) answered HTTP 401 INVALID_TOKEN/,
    );
    const afterFirst = emu.stats();
    assert.equal(afterFirst.apiRequests - before.apiRequests, 1);
    assert.equal(afterFirst.refreshRequests - before.refreshRequests, 1);
    const created = await client.request<{ data: { code: string }[] }>('POST', '/crm/v8/Leads', {
      user: USER,
      body: lead('Again'),
      headers,
    });
    assert.equal(created?.data[0]?.code, 'SUCCESS');
    assert.equal(emu.stats().refreshRequests, afterFirst.refreshRequests);
    await store.close();
  });
  test('a file Blob (fs.openAsBlob) is read as it is sent and sent again after a 401 refresh', async () => {
    const emu = await emulator(); // its own: this file's tests reached the emulator's grant-code limit
    const store = sqliteStore();
    const auth = authFor(emu, store);
    await login(emu, auth, USER);
    const client = new ZohoClient({ auth });
    const file = join(tempDir('bodies'), 'lead.json');
    writeFileSync(file, JSON.stringify({ data: [{ Last_Name: 'From a file' }] }));
    emu.expireAccessTokens();
    const before = emu.stats();
    const created = await client.request<{ data: { code: string; details: { id: string } }[] }>(
      'POST',
      '/crm/v8/Leads',
      { user: USER, body: await openAsBlob(file), headers: { 'Content-Type': 'application/json' } },
    );
    assert.equal(created?.data[0]?.code, 'SUCCESS');
    const after = emu.stats();
    assert.deepEqual([after.apiRequests - before.apiRequests, after.refreshRequests - before.refreshRequests], [2, 1]);
    const lead = await client.get<{ data: { Last_Name: string }[] }>(`/crm/v8/Leads/${created!.data[0]!.details.id}`, {
      user: USER,
    });
    assert.equal(lead?.data[0]?.Last_Name, 'From a file');
    await store.close();
  });
});
