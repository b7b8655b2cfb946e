import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { after, describe, test } from 'node:test';
import { ErrorCode, ZohoClient, type ZohoBytesResponse } from 'zoho-token-store';
import { authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';

const USER = 'files@example.com';
const emu = await emulator();
after(() => emu.close());

async function setup(): Promise<{ client: ZohoClient; leadId: string }> {
  const auth = authFor(emu, sqliteStore());
  await login(emu, auth, USER);
  const client = new ZohoClient({ auth });
  const created = await client.request<{ data: { details: { id: string } }[] }>('POST', '/crm/v8/Leads', {
    user: USER,
    body: { data: [{ Last_Name: 'Hopper' }] },
  });
  return { client, leadId: created!.data[0]!.details.id };
}

/** Random bytes with zero bytes, CR/LF and a multipart-looking line inside. */
function binaryFile(): Uint8Array {
  const bytes = new Uint8Array(70_000);
  bytes.set(randomBytes(bytes.length));
  bytes.set([0, 0, 0, 13, 10, 45, 45], 100);
  bytes.set(new TextEncoder().encode('\r\n--boundary\r\n'), 5000);
  bytes[bytes.length - 1] = 0;
  return bytes;
}

describe('ZohoClient responses', () => {
  test('upload an attachment as FormData, download it byte-exact as bytes, stream and Response', async () => {
    const { client, leadId } = await setup();
    const file = binaryFile();
    const form = new FormData();
    form.set('file', new Blob([file], { type: 'application/x-custom' }), 'dump.bin');
    const uploaded = await client.request<{ data: { code: string; details: { id: string } }[] }>(
      'POST',
      `/crm/v8/Leads/${leadId}/Attachments`,
      { user: USER, body: form },
    );
    assert.equal(uploaded?.data[0]?.code, 'SUCCESS');
    const attachmentId = uploaded!.data[0]!.details.id;
    const listed = await client.get<{ data: { id: string; File_Name: string; Size: string }[] }>(
      `/crm/v8/Leads/${leadId}/Attachments`,
      { user: USER },
    );
    assert.deepEqual(
      listed?.data.map((a) => [a.id, a.File_Name, a.Size]),
      [[attachmentId, 'dump.bin', String(file.length)]],
    );
    const path = `/crm/v8/Leads/${leadId}/Attachments/${attachmentId}`;

    const bytes: ZohoBytesResponse = await client.get(path, { user: USER, responseType: 'bytes' });
    assert.equal(bytes.status, 200);
    assert.equal(bytes.headers.get('content-type'), 'application/x-custom');
    assert.equal(bytes.headers.get('content-disposition'), 'attachment; filename="dump.bin"');
    assert.ok(bytes.body instanceof Uint8Array);
    assert.deepEqual(bytes.body, file);

    const streamed = await client.get(path, { user: USER, responseType: 'stream' });
    assert.equal(streamed.status, 200);
    assert.equal(streamed.headers.get('content-length'), String(file.length));
    const chunks: Uint8Array[] = [];
    for await (const chunk of streamed.body) chunks.push(chunk);
    assert.deepEqual(new Uint8Array(Buffer.concat(chunks)), file);

    const response = await client.request('GET', path, { user: USER, responseType: 'response' });
    assert.ok(response instanceof Response);
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), file);
  });

  test('upload an attachment as a stream (a multipart body read while it is sent), download it byte-exact', async () => {
    const { client, leadId } = await setup();
    const file = binaryFile();
    const form = new FormData();
    form.set('file', new Blob([file], { type: 'application/x-custom' }), 'streamed.bin');
    const multipart = new Response(form); // its body as a stream, and the content type with the boundary
    const uploaded = await client.request<{ data: { code: string; details: { id: string } }[] }>(
      'POST',
      `/crm/v8/Leads/${leadId}/Attachments`,
      { user: USER, body: multipart.body, headers: { 'Content-Type': multipart.headers.get('content-type')! } },
    );
    assert.equal(uploaded?.data[0]?.code, 'SUCCESS');
    const path = `/crm/v8/Leads/${leadId}/Attachments/${uploaded!.data[0]!.details.id}`;
    const bytes = await client.get(path, { user: USER, responseType: 'bytes' });
    assert.equal(bytes.headers.get('content-disposition'), 'attachment; filename="streamed.bin"');
    assert.deepEqual(bytes.body, file);
  });

  test('a long-lived caller signal: no listener left per stream call, and it still cancels a body not yet read', async () => {
    const { client } = await setup();
    const app = new AbortController(); // one signal for the whole application, never aborted here
    for (let i = 0; i < 30; i++) {
      const streamed = await client.get('/crm/v8/org', { user: USER, responseType: 'stream', signal: app.signal });
      for await (const chunk of streamed.body) assert.ok(chunk.length > 0);
    }
    const failed = client.get('/crm/v8/NoSuchModule', { user: USER, responseType: 'response', signal: app.signal });
    await rejectsWith(failed, ErrorCode.API_ERROR);
    assert.equal(getEventListeners(app.signal, 'abort').length, 0);

    const later = new AbortController();
    const response = await client.request('GET', '/crm/v8/org', {
      user: USER,
      responseType: 'response',
      signal: later.signal,
    });
    later.abort(new Error('user went away'));
    await assert.rejects(response.arrayBuffer());
  });

  test('a non-2xx answer throws API_ERROR whatever the responseType; a bad responseType is INVALID_ARGUMENT', async () => {
    const { client, leadId } = await setup();
    for (const responseType of ['bytes', 'stream', 'response'] as const) {
      const error = await rejectsWith(
        client.get(`/crm/v8/Leads/${leadId}/Attachments/1`, { user: USER, responseType }),
        ErrorCode.API_ERROR,
      );
      assert.deepEqual([error.status, error.apiCode], [400, 'INVALID_DATA']);
    }
    await rejectsWith(
      client.get('/crm/v8/org', { user: USER, responseType: 'xml' as 'json' }),
      ErrorCode.INVALID_ARGUMENT,
    );
    const empty = await client
      .get('/crm/v8/Leads/1/Attachments', { user: USER, responseType: 'bytes' })
      .catch((e) => e);
    assert.equal(empty.code, ErrorCode.API_ERROR, 'no such lead');
    const none = await client.get(`/crm/v8/Leads/${leadId}/Attachments`, { user: USER, responseType: 'bytes' });
    assert.deepEqual([none.status, none.body.length], [204, 0]);
  });
});
