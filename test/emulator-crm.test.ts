// The emulator's CRM record and metadata routes over raw HTTP: Zoho's shapes, statuses and errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ZohoEmulator } from 'zoho-token-store/emulator';
import { CLIENT, emulator } from './fixtures/auth-setup.js';

type Json = Record<string, unknown>;
const USER = 'ada.lovelace@example.com';
const ALL = ['ZohoCRM.modules.ALL', 'ZohoCRM.settings.ALL', 'ZohoCRM.users.READ'];

/** A Self Client code for USER exchanged over HTTP: the access token. */
async function accessToken(
  emu: ZohoEmulator,
  scopes: readonly string[] = ALL,
  client = CLIENT,
  accountsUrl = emu.url,
): Promise<string> {
  const code = await emu.createGrantCode({ clientId: client.clientId, user: USER, scopes });
  const res = await fetch(new URL('/oauth/v2/token', accountsUrl), {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      client_id: client.clientId,
      client_secret: client.clientSecret,
    }),
  });
  return ((await res.json()) as Json)['access_token'] as string;
}

interface Reply {
  status: number;
  body: Json | undefined;
}

/** A CRM client on one token: `call('GET', '/Leads')`, JSON bodies in and out. */
function crm(emu: ZohoEmulator, token: string, apiDomain = emu.url) {
  return async (method: string, path: string, body?: unknown, headers: Json = {}): Promise<Reply> => {
    const res = await fetch(new URL(`/crm/v8${path}`, apiDomain), {
      method,
      headers: {
        authorization: `Zoho-oauthtoken ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(headers as Record<string, string>),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as Json) };
  };
}

const data = (reply: Reply): Json[] => (reply.body?.['data'] as Json[] | undefined) ?? [];
const idOf = (reply: Reply, index = 0): string => (data(reply)[index]?.['details'] as Json)['id'] as string;

async function setup() {
  const emu = await emulator();
  return { emu, call: crm(emu, await accessToken(emu)) };
}

describe('CRM metadata', () => {
  test('settings/modules lists the modules in Zoho shape; one module by name; 304 when unchanged', async () => {
    const { call } = await setup();
    const all = await call('GET', '/settings/modules');
    assert.equal(all.status, 200);
    const modules = all.body?.['modules'] as Json[];
    assert.deepEqual(
      modules.map((m) => m['api_name']),
      ['Leads', 'Contacts', 'Accounts', 'Deals'],
    );
    const leads = modules[0]!;
    assert.equal(leads['api_supported'], true);
    assert.equal(leads['generated_type'], 'default');
    assert.equal(leads['singular_label'], 'Lead');
    assert.match(String(leads['id']), /^\d{19}$/);
    assert.match(String(leads['modified_time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);

    const one = await call('GET', '/settings/modules/deals');
    assert.deepEqual(
      (one.body?.['modules'] as Json[]).map((m) => m['api_name']),
      ['Deals'],
    );
    const since = new Date(Date.parse(String(leads['modified_time'])) + 1000).toUTCString();
    assert.deepEqual(await call('GET', '/settings/modules', undefined, { 'if-modified-since': since }), {
      status: 304,
      body: undefined,
    });
    const before = new Date(Date.parse(String(leads['modified_time'])) - 60_000).toUTCString();
    assert.equal((await call('GET', '/settings/modules', undefined, { 'if-modified-since': before })).status, 200);
  });

  test('settings/fields: data types, mandatory fields, picklists, lookups; errors', async () => {
    const { call } = await setup();
    const reply = await call('GET', '/settings/fields?module=Contacts');
    assert.equal(reply.status, 200);
    const fields = new Map((reply.body?.['fields'] as Json[]).map((f) => [f['api_name'], f]));
    assert.deepEqual(
      ['Last_Name', 'Email', 'Account_Name', 'Date_of_Birth', 'Owner'].map((name) => fields.get(name)?.['data_type']),
      ['text', 'email', 'lookup', 'date', 'ownerlookup'],
    );
    assert.equal(fields.get('Last_Name')?.['system_mandatory'], true);
    assert.equal(fields.get('First_Name')?.['system_mandatory'], false);
    assert.equal(fields.get('Created_Time')?.['read_only'], true);
    assert.deepEqual((fields.get('Account_Name')?.['lookup'] as Json)['module'], {
      api_name: 'Accounts',
      id: '5725767000000002177',
    });
    const salutation = fields.get('Salutation')?.['pick_list_values'] as Json[];
    assert.deepEqual(salutation[1], {
      display_value: 'Mr.',
      actual_value: 'Mr.',
      sequence_number: 2,
      id: salutation[1]?.['id'],
      type: 'used',
    });

    assert.deepEqual(await call('GET', '/settings/fields'), {
      status: 400,
      body: {
        code: 'REQUIRED_PARAM_MISSING',
        details: { param: 'module' },
        message: 'One of the expected parameter is missing',
        status: 'error',
      },
    });
    assert.equal((await call('GET', '/settings/fields?module=Widgets')).body?.['code'], 'INVALID_MODULE');
    assert.equal((await call('POST', '/settings/fields?module=Leads', {})).body?.['code'], 'INVALID_REQUEST_METHOD');
  });

  test('settings need a settings scope; records need the module scope (WRITE covers create/update/delete)', async () => {
    const emu = await emulator();
    const modulesOnly = crm(emu, await accessToken(emu, ['ZohoCRM.modules.ALL']));
    assert.equal((await modulesOnly('GET', '/settings/fields?module=Leads')).body?.['code'], 'OAUTH_SCOPE_MISMATCH');
    const fieldsOnly = crm(emu, await accessToken(emu, ['ZohoCRM.settings.fields.READ']));
    assert.equal((await fieldsOnly('GET', '/settings/fields?module=Leads')).status, 200);
    assert.equal((await fieldsOnly('GET', '/settings/modules')).status, 401);

    const dealsWrite = crm(emu, await accessToken(emu, ['ZohoCRM.modules.deals.WRITE']));
    const deal = await dealsWrite('POST', '/Deals', {
      data: [{ Deal_Name: 'Engine', Stage: 'Qualification', Closing_Date: '2027-01-31' }],
    });
    assert.equal(deal.status, 201);
    assert.equal((await dealsWrite('GET', `/Deals/${idOf(deal)}`)).status, 401, 'WRITE does not read');
    assert.equal((await dealsWrite('PUT', `/Deals/${idOf(deal)}`, { data: [{ Amount: 10 }] })).status, 200);
    assert.equal((await dealsWrite('DELETE', `/Deals/${idOf(deal)}`)).status, 200);
    assert.equal((await dealsWrite('POST', '/Leads', { data: [{ Last_Name: 'X' }] })).status, 401);
  });
});

describe('CRM records', () => {
  test('create: Zoho success shape; system fields set by the CRM; get and list read it back', async () => {
    const { call } = await setup();
    assert.deepEqual(await call('GET', '/Contacts'), { status: 204, body: undefined });
    const created = await call('POST', '/Contacts', {
      data: [
        {
          First_Name: 'Mary',
          Last_Name: 'Somerville',
          Email: 'mary@example.org',
          Date_of_Birth: '1780-12-26',
          Email_Opt_Out: true,
          Created_Time: '2000-01-01T00:00:00+00:00',
          Full_Name: 'ignored',
          Custom_Field__c: 'kept',
        },
      ],
    });
    assert.equal(created.status, 201);
    const [row] = data(created);
    const details = row?.['details'] as Json;
    const me = details['Created_By'] as Json;
    assert.deepEqual(row, {
      code: 'SUCCESS',
      details: {
        Modified_Time: details['Created_Time'],
        Modified_By: me,
        Created_Time: details['Created_Time'],
        id: details['id'],
        Created_By: me,
      },
      message: 'record added',
      status: 'success',
    });
    assert.deepEqual(Object.keys(me), ['name', 'id']);
    assert.equal(me['name'], 'Ada Lovelace');
    assert.notEqual(details['Created_Time'], '2000-01-01T00:00:00+00:00', 'read-only fields are ignored');

    const one = await call('GET', `/Contacts/${details['id']}`);
    assert.equal(one.status, 200);
    const record = data(one)[0]!;
    assert.equal(record['Full_Name'], 'Mary Somerville');
    assert.equal(record['Date_of_Birth'], '1780-12-26');
    assert.equal(record['Email_Opt_Out'], true);
    assert.equal(record['Custom_Field__c'], 'kept');
    assert.deepEqual(record['Owner'], { ...me, email: USER });

    const list = await call('GET', '/contacts?fields=Last_Name,Email');
    assert.deepEqual(list.body, {
      data: [{ Last_Name: 'Somerville', Email: 'mary@example.org', id: details['id'] }],
      info: {
        per_page: 200,
        next_page_token: null,
        count: 1,
        page: 1,
        previous_page_token: null,
        page_token_expiry: null,
        more_records: false,
      },
    });
  });

  test('create: per-record errors (INVALID_DATA, MANDATORY_NOT_FOUND) and 207 / 400 / whole-request errors', async () => {
    const { call } = await setup();
    const mixed = await call('POST', '/Leads', {
      data: [
        { Last_Name: 'Ok' },
        { Last_Name: 'Bad', Email: 'not-an-email' },
        { Company: 'No name' },
        { Last_Name: 'Big', No_of_Employees: 'many' },
        { Last_Name: 'x'.repeat(81) },
        'not an object',
      ],
    });
    assert.equal(mixed.status, 207);
    const rows = data(mixed);
    assert.equal(rows[0]?.['status'], 'success');
    assert.deepEqual(rows[1], {
      code: 'INVALID_DATA',
      details: { expected_data_type: 'email', api_name: 'Email', json_path: '$.data[1].Email' },
      message: 'invalid data',
      status: 'error',
    });
    assert.deepEqual(rows[2], {
      code: 'MANDATORY_NOT_FOUND',
      details: { api_name: 'Last_Name', json_path: '$.data[2].Last_Name' },
      message: 'required field not found',
      status: 'error',
    });
    assert.deepEqual(rows[3]?.['details'], {
      expected_data_type: 'integer',
      api_name: 'No_of_Employees',
      json_path: '$.data[3].No_of_Employees',
    });
    assert.deepEqual(rows[4]?.['details'], {
      maximum_length: 80,
      api_name: 'Last_Name',
      json_path: '$.data[4].Last_Name',
    });
    assert.deepEqual(rows[5]?.['details'], { expected_data_type: 'jsonobject', index: 5 });
    assert.equal((await call('GET', '/Leads')).body?.['info'] instanceof Object, true);
    assert.equal(data(await call('GET', '/Leads')).length, 1, 'only the good record was added');

    const none = await call('POST', '/Deals', { data: [{ Deal_Name: 'No stage', Closing_Date: '2027-01-01' }] });
    assert.equal(none.status, 400);
    assert.equal(data(none)[0]?.['code'], 'MANDATORY_NOT_FOUND');
    assert.equal((data(none)[0]?.['details'] as Json)['api_name'], 'Stage');
    const badDate = await call('POST', '/Deals', {
      data: [{ Deal_Name: 'D', Stage: 'Qualification', Closing_Date: '31/01/2027' }],
    });
    assert.equal((data(badDate)[0]?.['details'] as Json)['expected_data_type'], 'date');

    assert.equal((await call('POST', '/Leads', '{not json')).body?.['code'], 'INVALID_DATA');
    assert.deepEqual((await call('POST', '/Leads', { data: [] })).body?.['details'], { param: 'data' });
    const tooMany = await call('POST', '/Leads', { data: Array.from({ length: 101 }, () => ({ Last_Name: 'N' })) });
    assert.deepEqual(tooMany, {
      status: 400,
      body: {
        code: 'LIMIT_EXCEEDED',
        details: { limit: 100 },
        message: 'Maximum number of records exceeded',
        status: 'error',
      },
    });
  });

  test('lookups and owners: stored as {name, id}; unknown ids are INVALID_DATA', async () => {
    const { call } = await setup();
    const account = await call('POST', '/Accounts', { data: [{ Account_Name: 'Analytical Society' }] });
    const accountId = idOf(account);
    const me = (data(await call('GET', '/users?type=CurrentUser')) as Json[]).length;
    assert.equal(me, 0, 'users answer under "users", not "data"');
    const user = ((await call('GET', '/users?type=CurrentUser')).body?.['users'] as Json[])[0]!;

    const contact = await call('POST', '/Contacts', {
      data: [{ Last_Name: 'Somerville', Account_Name: { id: accountId }, Owner: { id: user['id'] } }],
    });
    assert.equal(contact.status, 201);
    const read = data(await call('GET', `/Contacts/${idOf(contact)}`))[0]!;
    assert.deepEqual(read['Account_Name'], { name: 'Analytical Society', id: accountId });
    assert.deepEqual(read['Owner'], { name: 'Ada Lovelace', id: user['id'], email: USER });
    const search = await call('GET', `/Contacts/search?criteria=(Account_Name:equals:${accountId})`);
    assert.equal(data(search).length, 1, 'lookups are searched by id');

    const bad = await call('POST', '/Contacts', {
      data: [
        { Last_Name: 'A', Account_Name: { id: '5725767999999999999' } },
        { Last_Name: 'B', Owner: { id: '5725767999999999999' } },
      ],
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(data(bad)[0], {
      code: 'INVALID_DATA',
      details: { api_name: 'Account_Name', json_path: '$.data[0].Account_Name.id' },
      message: 'the related id given seems to be invalid',
      status: 'error',
    });
    assert.deepEqual(data(bad)[1]?.['details'], {
      expected_data_type: 'ownerlookup',
      api_name: 'Owner',
      json_path: '$.data[1].Owner.id',
    });
  });

  test('update: by path id and in bulk; null clears; Modified_Time moves; unknown and missing ids', async () => {
    const { emu, call } = await setup();
    const created = await call('POST', '/Leads', {
      data: [{ First_Name: 'Ada', Last_Name: 'Lovelace', Phone: '1' }, { Last_Name: 'Babbage' }],
    });
    const [ada, charles] = [idOf(created, 0), idOf(created, 1)];
    emu.clock.advance(61_000);

    const one = await call('PUT', `/Leads/${ada}`, { data: [{ Last_Name: 'King', Phone: null }] });
    assert.equal(one.status, 200);
    const details = data(one)[0]?.['details'] as Json;
    assert.equal(data(one)[0]?.['message'], 'record updated');
    assert.equal(details['id'], ada);
    assert.notEqual(details['Modified_Time'], details['Created_Time']);
    const read = data(await call('GET', `/Leads/${ada}`))[0]!;
    assert.equal(read['Last_Name'], 'King');
    assert.equal(read['Full_Name'], 'Ada King', 'Full_Name follows');
    assert.equal('Phone' in read, false, 'null cleared the field');
    assert.equal(read['Modified_Time'], details['Modified_Time']);

    const bulk = await call('PUT', '/Leads', {
      data: [
        { id: charles, Company: 'Difference' },
        { id: '5725767999999999999', Company: 'Nobody' },
        { Company: 'No id' },
        { id: ada, Last_Name: null },
      ],
    });
    assert.equal(bulk.status, 207);
    assert.deepEqual(
      data(bulk).map((r) => [r['code'], r['details']]),
      [
        ['SUCCESS', data(bulk)[0]?.['details']],
        ['INVALID_DATA', { api_name: 'id', json_path: '$.data[1].id' }],
        ['MANDATORY_NOT_FOUND', { api_name: 'id', json_path: '$.data[2].id' }],
        ['MANDATORY_NOT_FOUND', { api_name: 'Last_Name', json_path: '$.data[3].Last_Name' }],
      ],
    );
    assert.equal(data(await call('GET', `/Leads/${charles}`))[0]?.['Company'], 'Difference');
    const missing = await call('PUT', '/Leads/5725767999999999999', { data: [{ Company: 'X' }] });
    assert.equal(missing.status, 400);
    assert.equal(data(missing)[0]?.['code'], 'INVALID_DATA');
  });

  test('delete: by path id and by ids=; then get is 204; unknown ids; errors', async () => {
    const { call } = await setup();
    const created = await call('POST', '/Accounts', {
      data: [{ Account_Name: 'A' }, { Account_Name: 'B' }, { Account_Name: 'C' }],
    });
    const [a, b, c] = [0, 1, 2].map((i) => idOf(created, i));
    assert.deepEqual(await call('DELETE', `/Accounts/${a}`), {
      status: 200,
      body: { data: [{ code: 'SUCCESS', details: { id: a }, message: 'record deleted', status: 'success' }] },
    });
    assert.deepEqual(await call('GET', `/Accounts/${a}`), { status: 204, body: undefined });
    const many = await call('DELETE', `/Accounts?ids=${b},${a},${c}`);
    assert.equal(many.status, 207);
    assert.deepEqual(data(many)[1], {
      code: 'INVALID_DATA',
      details: { id: a },
      message: 'the id given seems to be invalid',
      status: 'error',
    });
    assert.deepEqual(await call('GET', '/Accounts'), { status: 204, body: undefined });
    assert.equal((await call('DELETE', `/Accounts/${a}`)).status, 400);
    assert.deepEqual((await call('DELETE', '/Accounts')).body?.['details'], { param: 'ids' });
  });

  test('search: criteria operators, email, phone, word, paging; 204 when nothing matches; INVALID_QUERY', async () => {
    const { call } = await setup();
    await call('POST', '/Leads', {
      data: [
        { Last_Name: 'Lovelace', Company: 'ABC Inc', Email: 'ada@x.example', Phone: '+44 (20) 7946-0018' },
        { Last_Name: 'Babbage', Company: 'ABC', No_of_Employees: 40 },
        { Last_Name: 'Somerville', Company: 'Burns, B (Ltd)', No_of_Employees: 5 },
      ],
    });
    const names = async (query: string): Promise<unknown[] | number> => {
      const reply = await call('GET', `/Leads/search?${query}`);
      return reply.status === 200 ? data(reply).map((r) => r['Last_Name']) : reply.status;
    };
    const criteria = (c: string) => `criteria=${encodeURIComponent(c)}`;
    assert.deepEqual(await names(criteria('(Company:equals:abc)')), ['Lovelace', 'Babbage'], 'equals is contains');
    assert.deepEqual(await names(criteria('((Company:equals:ABC)and(Last_Name:starts_with:Bab))')), ['Babbage']);
    assert.deepEqual(await names(criteria('((Last_Name:equals:Lovelace)or(No_of_Employees:greater_than:10))')), [
      'Lovelace',
      'Babbage',
    ]);
    assert.deepEqual(await names(criteria('(No_of_Employees:between:1,10)')), ['Somerville']);
    assert.deepEqual(await names(criteria('(Last_Name:in:Babbage,Somerville)')), ['Babbage', 'Somerville']);
    assert.deepEqual(await names(criteria('(Company:equals:Burns\\, B \\(Ltd\\))')), ['Somerville'], 'escapes');
    assert.deepEqual(await names(criteria('(Last_Name:not_equal:Lovelace)')), ['Babbage', 'Somerville']);
    assert.deepEqual(await names(criteria('(Last_Name:equals:Nobody)')), 204);
    assert.deepEqual(await names('email=ADA@x.example'), ['Lovelace']);
    assert.deepEqual(await names('phone=442079460018'), ['Lovelace']);
    assert.deepEqual(await names('word=burns'), ['Somerville']);

    const page = await call('GET', `/Leads/search?${criteria('(Company:starts_with:)')}&per_page=2&page=1`);
    assert.deepEqual(page.body?.['info'], { per_page: 2, count: 2, page: 1, more_records: true });
    const last = await call('GET', `/Leads/search?${criteria('(Company:starts_with:)')}&per_page=2&page=2`);
    assert.deepEqual(last.body?.['info'], { per_page: 2, count: 1, page: 2, more_records: false });

    for (const [query, details] of [
      [criteria('(Nope:equals:x)'), { reason: 'the field is not available', api_name: 'Nope' }],
      [criteria('(Last_Name:like:x)'), { reason: 'invalid operator found', api_name: 'Last_Name', operator: 'like' }],
      [
        criteria('(Last_Name:greater_than:x)'),
        { reason: 'invalid operator found', api_name: 'Last_Name', operator: 'greater_than' },
      ],
      [criteria('(Last_Name:equals:x'), { reason: 'invalid query formed' }],
      [criteria('Last_Name:equals:x'), { reason: 'invalid query formed' }],
    ] as const) {
      assert.deepEqual(
        await call('GET', `/Leads/search?${query}`),
        { status: 400, body: { code: 'INVALID_QUERY', details, message: 'Invalid query formed', status: 'error' } },
        query,
      );
    }
    assert.deepEqual((await call('GET', '/Leads/search')).body?.['code'], 'REQUIRED_PARAM_MISSING');
    assert.deepEqual((await call('GET', '/Leads/search?word=a')).body?.['code'], 'INVALID_DATA');
  });

  test('upsert: updates the duplicate (default and given duplicate_check_fields), else inserts', async () => {
    const { call } = await setup();
    const first = await call('POST', '/Leads', { data: [{ Last_Name: 'Lovelace', Email: 'ada@x.example' }] });
    const ada = idOf(first);
    const upsert = await call('POST', '/Leads/upsert', {
      data: [
        { Last_Name: 'Lovelace', Email: 'ADA@x.example', Company: 'Engines' },
        { Last_Name: 'Babbage', Email: 'charles@x.example' },
        { Company: 'no name, no match' },
      ],
    });
    assert.equal(upsert.status, 207);
    const [updated, inserted, failed] = data(upsert);
    assert.deepEqual(
      [updated?.['action'], updated?.['duplicate_field'], updated?.['message'], (updated?.['details'] as Json)['id']],
      ['update', 'Email', 'record updated', ada],
    );
    assert.deepEqual(
      [inserted?.['action'], inserted?.['duplicate_field'], inserted?.['message'], inserted?.['code']],
      ['insert', null, 'record added', 'SUCCESS'],
    );
    assert.equal(failed?.['code'], 'MANDATORY_NOT_FOUND');
    assert.equal(data(await call('GET', `/Leads/${ada}`))[0]?.['Company'], 'Engines');

    const byName = await call('POST', '/Leads/upsert', {
      data: [{ Last_Name: 'Babbage', Company: 'Difference' }],
      duplicate_check_fields: ['Last_Name'],
    });
    assert.equal(byName.status, 200);
    assert.equal(data(byName)[0]?.['duplicate_field'], 'Last_Name');
    assert.equal((await call('GET', '/Leads/actions/count')).body?.['count'], 2);
    const badChecks = await call('POST', '/Leads/upsert', {
      data: [{ Last_Name: 'X' }],
      duplicate_check_fields: ['Nope'],
    });
    assert.equal(badChecks.body?.['code'], 'INVALID_DATA');
  });

  test('list: ids, sort_by / sort_order, per_page / page; count', async () => {
    const { emu, call } = await setup();
    assert.deepEqual(await call('GET', '/Deals/actions/count'), { status: 200, body: { count: 0 } });
    const ids: string[] = [];
    for (const name of ['A', 'B', 'C']) {
      ids.push(idOf(await call('POST', '/Accounts', { data: [{ Account_Name: name }] })));
      emu.clock.advance(1000);
    }
    await call('PUT', `/Accounts/${ids[0]}`, { data: [{ Phone: '1' }] });
    const names = async (query: string) =>
      data(await call('GET', `/Accounts?fields=Account_Name&${query}`)).map((r) => r['Account_Name']);
    assert.deepEqual(await names(''), ['A', 'B', 'C']);
    assert.deepEqual(await names('sort_by=id&sort_order=desc'), ['C', 'B', 'A']);
    assert.deepEqual(await names('sort_by=Modified_Time&sort_order=desc'), ['A', 'C', 'B']);
    assert.deepEqual(await names(`ids=${ids[2]},${ids[0]}`), ['A', 'C']);
    const page2 = await call('GET', '/Accounts?per_page=2&page=2');
    const { previous_page_token: previous, ...info2 } = page2.body?.['info'] as Record<string, unknown>;
    assert.match(String(previous), /^[0-9a-f]{64}$/, "Zoho's v8 info block: a token back to page 1");
    assert.deepEqual(info2, {
      per_page: 2,
      next_page_token: null,
      count: 1,
      page: 2,
      page_token_expiry: info2['page_token_expiry'],
      more_records: false,
    });
    assert.deepEqual(await call('GET', '/Accounts?per_page=2&page=3'), { status: 204, body: undefined });
    assert.deepEqual((await call('GET', '/Accounts?sort_by=Phone')).body?.['details'], { param_name: 'sort_by' });
    assert.equal((await call('GET', '/Accounts/actions/count')).body?.['count'], 3);
  });

  test('routing: INVALID_MODULE, INVALID_URL_PATTERN, INVALID_REQUEST_METHOD; module names are case-insensitive', async () => {
    const { call } = await setup();
    assert.deepEqual(await call('GET', '/Widgets'), {
      status: 400,
      body: {
        code: 'INVALID_MODULE',
        details: { resource_path_index: 0 },
        message: 'the module name given seems to be invalid',
        status: 'error',
      },
    });
    assert.equal((await call('GET', '/Widgets/5725767000000000001')).body?.['code'], 'INVALID_MODULE');
    assert.equal((await call('GET', '/widgets')).body?.['code'], 'INVALID_URL_PATTERN');
    assert.equal((await call('GET', '/Leads/1/2/3/4')).status, 404);
    assert.equal((await call('PATCH', '/Leads')).body?.['code'], 'INVALID_REQUEST_METHOD');
    assert.equal((await call('POST', '/Leads/search')).body?.['code'], 'INVALID_REQUEST_METHOD');
    assert.equal((await call('POST', '/LEADS', { data: [{ Last_Name: 'Upper' }] })).status, 201);
    assert.equal(data(await call('GET', '/leads')).length, 1);
  });

  test('each data center has its own records', async () => {
    const euClient = { ...CLIENT, clientId: `${CLIENT.clientId}EU`, dc: 'eu' };
    const emu = await emulator({ dataCenters: ['us', 'eu'], clients: [CLIENT, euClient] });
    const us = crm(emu, await accessToken(emu));
    const eu = emu.environmentFor('eu');
    const euCall = crm(emu, await accessToken(emu, ALL, euClient, eu.accountsUrl), eu.apiDomain);
    const created = await us('POST', '/Leads', { data: [{ Last_Name: 'Only in US' }] });
    assert.equal(created.status, 201);
    assert.deepEqual(await euCall('GET', '/Leads'), { status: 204, body: undefined });
    assert.deepEqual(await euCall('GET', `/Leads/${idOf(created)}`), { status: 204, body: undefined });
    assert.equal(data(await us('GET', '/Leads')).length, 1);
  });
});
