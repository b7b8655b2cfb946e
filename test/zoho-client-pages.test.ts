import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { ErrorCode, ZohoClient, type ZohoPageInfo } from 'zoho-token-store';
import { authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';

const USER = 'pager@example.com';
const LEADS = 2_100; // past Zoho's 2000-record reach of page/per_page
const emu = await emulator();
after(() => emu.close());

const auth = authFor(emu, sqliteStore());
await login(emu, auth, USER);
const client = new ZohoClient({ auth });
for (let start = 0; start < LEADS; start += 100) {
  const data = Array.from({ length: Math.min(100, LEADS - start) }, (_, i) => ({ Last_Name: `Lead ${start + i}` }));
  await client.request('POST', '/crm/v8/Leads', { user: USER, body: { data } });
}
const names = Array.from({ length: LEADS }, (_, i) => `Lead ${i}`);

describe('ZohoClient pages and records', () => {
  test('pages() follows next_page_token across 11 pages and past the 2000th record', async () => {
    const before = emu.stats().apiRequests;
    const infos: ZohoPageInfo[] = [];
    const seen: string[] = [];
    for await (const page of client.pages<{ Last_Name: string }>('/crm/v8/Leads', {
      user: USER,
      query: { fields: ['Last_Name'], per_page: 200 },
    })) {
      infos.push(page.info!);
      seen.push(...page.items.map((r) => r.Last_Name));
    }
    assert.deepEqual(seen, names);
    assert.equal(infos.length, 11);
    assert.deepEqual(
      infos.map((i) => [i.page, i.count, i.more_records]),
      [...Array.from({ length: 10 }, (_, p) => [p + 1, 200, true]), [11, 100, false]],
    );
    assert.equal(infos[10]!.next_page_token, null);
    assert.equal(emu.stats().apiRequests - before, 11);
  });

  test('page/per_page alone stop at 2000 records, as Zoho: DISCRETE_PAGINATION_LIMIT_EXCEEDED', async () => {
    const error = await rejectsWith(
      client.get('/crm/v8/Leads', { user: USER, query: { per_page: 200, page: 11 } }),
      ErrorCode.API_ERROR,
    );
    assert.deepEqual([error.status, error.apiCode], [400, 'DISCRETE_PAGINATION_LIMIT_EXCEEDED']);
  });

  test('without tokens pages() goes on with page + 1 (up to the 2000th record); records() yields each record; break stops the requests', async () => {
    // A server that sends no page tokens (older APIs): the iterator counts pages itself.
    const noTokens = new ZohoClient({
      auth,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        const body = (await response.json()) as { info?: Record<string, unknown> };
        if (body.info) delete body.info['next_page_token'];
        return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
      },
    });
    const pages: number[] = [];
    const walk = async (): Promise<void> => {
      for await (const page of noTokens.pages('/crm/v8/Leads', { user: USER, query: { per_page: 150 } }))
        pages.push(page.items.length);
    };
    // Pages 1-13 (1950 records), then page 14 would pass the 2000th record: Zoho refuses it.
    const error = await rejectsWith(walk(), ErrorCode.API_ERROR);
    assert.equal(error.apiCode, 'DISCRETE_PAGINATION_LIMIT_EXCEEDED');
    assert.deepEqual(
      pages,
      Array.from({ length: 13 }, () => 150),
    );

    const records: string[] = [];
    for await (const lead of client.records<{ Last_Name: string }>('Leads', {
      user: USER,
      query: new URLSearchParams({ fields: 'Last_Name', per_page: '100' }),
    }))
      records.push(lead.Last_Name);
    assert.deepEqual(records, names);

    const before = emu.stats().apiRequests;
    let taken = 0;
    for await (const _lead of client.records('Leads', { user: USER, query: { per_page: 50 } })) {
      if (++taken === 60) break;
    }
    assert.equal(emu.stats().apiRequests - before, 2, 'two pages of 50 for 60 records, nothing more');
  });

  test('bad arguments and answers: INVALID_ARGUMENT, MALFORMED_RESPONSE; an empty list yields nothing', async () => {
    await rejectsWith(client.records('Leads; DROP', { user: USER }).next(), ErrorCode.INVALID_ARGUMENT);
    await rejectsWith(client.pages('/crm/v8/org', { user: USER }).next(), ErrorCode.MALFORMED_RESPONSE);
    const users = [];
    for await (const page of client.pages('/crm/v8/users', { user: USER, key: 'users' })) users.push(...page.items);
    assert.equal(users.length, 1);
    // An org without leads answers 204: nothing is yielded.
    const empty = await emulator();
    const emptyAuth = authFor(empty, sqliteStore());
    await login(empty, emptyAuth, USER);
    const none = [];
    for await (const page of new ZohoClient({ auth: emptyAuth }).pages('/crm/v8/Leads', { user: USER }))
      none.push(page);
    assert.deepEqual(none, []);
  });
});
