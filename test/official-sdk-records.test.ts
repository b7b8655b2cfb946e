import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CLIENT, dbFile, emulator, sqliteStore } from './fixtures/auth-setup.js';
import type { RecordsResult, RecordsTask } from './fixtures/official-sdk-records.js';
import { tempDir } from './helpers/temp.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./fixtures/official-sdk-records.ts', import.meta.url));
const ROOT = dirname(dirname(dirname(CHILD)));
const USER = 'ada.lovelace@example.com';
// The official SDK reads field metadata (settings) before any record call.
const SCOPES = ['ZohoCRM.modules.ALL', 'ZohoCRM.settings.ALL', 'ZohoCRM.users.READ', 'ZohoCRM.org.READ'];

/** Runs the official SDK's record round trip in a child process (its Initializer is process-global). */
async function officialSdkRecords(task: RecordsTask): Promise<RecordsResult> {
  const args = ['--conditions=zoho-token-store-source', '--import', 'tsx', CHILD, JSON.stringify(task)];
  try {
    const { stdout } = await run(process.execPath, args, { cwd: ROOT, timeout: 60_000 });
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as RecordsResult;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`the official SDK process failed:\n${stderr ?? ''}\n${stdout ?? ''}`, { cause: error });
  }
}

/**
 * The SDK's record round trip: exchange a code (token saved in our SqliteStore), then the record
 * calls; checks what the SDK read back and which calls reached the emulator.
 */
async function roundTrip(autoRefreshFields: boolean): Promise<Record<string, number>> {
  const emu = await emulator();
  const file = dbFile('official-sdk-records');
  const store = sqliteStore(file);
  const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: SCOPES });
  const result = await officialSdkRecords({
    file,
    url: emu.url,
    clientId: CLIENT.clientId,
    clientSecret: CLIENT.clientSecret,
    grantCode: code,
    resourcePath: tempDir('official-sdk-records-res'),
    autoRefreshFields,
  });

  const id = result.created.id;
  assert.match(String(id), /^\d{19}$/);
  assert.deepEqual(
    { ...result.created, id: undefined },
    { status: 201, code: 'SUCCESS', message: 'record added', id: undefined },
  );

  assert.equal(result.read.status, 200);
  const read = result.read.fields;
  assert.equal(read['id'], id);
  assert.equal(read['First_Name'], 'Ada');
  assert.equal(read['Last_Name'], 'Lovelace');
  assert.equal(read['Full_Name'], 'Ada Lovelace');
  assert.equal(read['Email'], 'ada@engines.example');
  assert.equal(read['Company'], 'Analytical Engines');
  assert.equal(read['No_of_Employees'], 12);
  assert.equal(read['Owner'], 'Ada Lovelace', 'the owner is the token user');
  assert.equal(read['Created_By'], 'Ada Lovelace');
  assert.equal(read['Created_Time'], read['Modified_Time']);
  assert.equal(typeof read['Created_Time'], 'string');

  assert.deepEqual(result.updated, { status: 200, code: 'SUCCESS', message: 'record updated' });
  assert.equal(result.reread.status, 200);
  assert.equal(result.reread.fields['Phone'], '+44 20 7946 0018');
  assert.equal(result.reread.fields['Company'], 'Difference Engines');
  assert.equal(result.reread.fields['Email'], 'ada@engines.example', 'untouched fields stay');

  assert.deepEqual(result.searchByCriteria, { status: 200, ids: [id], count: 1, moreRecords: false });
  assert.deepEqual(result.searchByEmail, { status: 200, ids: [id] });
  assert.deepEqual(result.searchByWord, { status: 200, ids: [id] });
  assert.deepEqual(result.searchNone, { status: 204 });

  assert.deepEqual(result.deleted, { status: 200, code: 'SUCCESS', message: 'record deleted', id });
  assert.deepEqual(result.readAfterDelete, { status: 204, body: 'null' });

  assert.equal(result.contact.status, 200);
  assert.equal(result.contact.code, 'SUCCESS');
  assert.equal(result.contact.accountName, 'Analytical Society');
  assert.match(String(result.contact.accountId), /^\d{19}$/);

  // The SDK's token is in our store, usable by everything else on it.
  assert.equal(result.tokenId, '1');
  const [saved, ...others] = await store.getTokens();
  assert.equal(others.length, 0);
  assert.equal(saved?.userName, USER);
  assert.equal(emu.tokenInfo(saved!.accessToken!)?.user, USER);

  // What the SDK called, in the emulator's counters.
  const calls = emu.stats().byEndpoint;
  assert.equal(calls['POST /crm/v8/Leads'], 1);
  assert.equal(calls['GET /crm/v8/Leads/{id}'], 3);
  assert.equal(calls['PUT /crm/v8/Leads/{id}'], 1);
  assert.equal(calls['GET /crm/v8/Leads/search'], 4);
  assert.equal(calls['DELETE /crm/v8/Leads/{id}'], 1);
  assert.equal(emu.stats().apiErrors, 0);
  return calls;
}

describe('the official SDK: records against the emulator, on our SqliteStore', () => {
  test('create → get → update → search → delete; fields fetched per module', { timeout: 120_000 }, async () => {
    const calls = await roundTrip(false);
    assert.equal(calls['GET /crm/v8/settings/fields'], 3, 'Leads, Contacts, and Accounts for the lookup');
    assert.equal(calls['GET /crm/v8/settings/modules'], undefined);
  });

  test(
    "the same with autoRefreshFields: modules listed, every module's fields fetched first",
    { timeout: 120_000 },
    async () => {
      const calls = await roundTrip(true);
      assert.equal(calls['GET /crm/v8/settings/modules'], 1);
      assert.equal(calls['GET /crm/v8/settings/fields'], 4, 'Leads, Contacts, Accounts, Deals');
    },
  );
});
