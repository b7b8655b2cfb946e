import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspect, promisify } from 'node:util';
import * as sdk from '@zohocrm/typescript-sdk-8.0';
import pg from 'pg';
import { ErrorCode, MemoryStore, OAuthToken, type TokenStore } from 'zoho-token-store';
import type { ZohoEmulator } from 'zoho-token-store/emulator';
import { OfficialSdkTokenStore, officialSdkStore, type OfficialSdkModule } from 'zoho-token-store/official-sdk';
import { PostgresStore } from 'zoho-token-store/postgres';
import { CLIENT, HOUR, SCOPES, authFor, dbFile, emulator, sqliteStore } from './fixtures/auth-setup.js';
import type { OfficialSdkResult, OfficialSdkTask } from './fixtures/official-sdk-client.js';
import { tempDir } from './helpers/temp.js';
import { POSTGRES, skipUnlessReachable } from './helpers/services.js';
import { rejectsWith } from './helpers/errors.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./fixtures/official-sdk-client.ts', import.meta.url));
const ROOT = dirname(dirname(dirname(CHILD)));
const USER = 'ada.lovelace@example.com';
const EXPIRY = 1_700_000_000_123;

/** An SDK token the way an app builds one (their builder), plus fields the SDK sets itself. */
function sdkToken(
  fields: {
    id?: string;
    user?: string;
    refresh?: string;
    access?: string;
    expiresIn?: string;
    apiDomain?: string;
  } = {},
): sdk.OAuthToken {
  const builder = new sdk.OAuthBuilder().clientId(CLIENT.clientId).clientSecret(CLIENT.clientSecret);
  if (fields.id !== undefined) builder.id(fields.id);
  if (fields.user !== undefined) builder.userSignature(new sdk.UserSignature(fields.user));
  if (fields.refresh !== undefined) builder.refreshToken(fields.refresh);
  const token = builder.build();
  if (fields.access !== undefined) token.setAccessToken(fields.access);
  if (fields.expiresIn !== undefined) token.setExpiresIn(fields.expiresIn);
  if (fields.apiDomain !== undefined) token.setAPIDomain(fields.apiDomain);
  return token;
}

const stored = (init: Partial<ConstructorParameters<typeof OAuthToken>[0]> = {}): OAuthToken =>
  new OAuthToken({
    userSignature: USER,
    clientId: CLIENT.clientId,
    clientSecret: CLIENT.clientSecret,
    refreshToken: '1000.refresh-ada',
    accessToken: '1000.access-ada',
    expiresAt: EXPIRY,
    apiDomain: 'https://www.zohoapis.eu',
    accountsUrl: 'https://accounts.zoho.eu',
    ...init,
  });

describe('officialSdkStore: conversions', () => {
  test('is accepted by the official InitializeBuilder and rejects a missing module', () => {
    const adapter = officialSdkStore(new MemoryStore(), { sdk });
    assert.ok(adapter instanceof OfficialSdkTokenStore);
    assert.ok(new sdk.InitializeBuilder().store(adapter));
    assert.throws(() => officialSdkStore(new MemoryStore(), { sdk: {} as OfficialSdkModule }), {
      code: ErrorCode.INVALID_ARGUMENT,
    });
    assert.throws(() => officialSdkStore(new MemoryStore(), { sdk, accountsUrl: 'accounts.zoho.eu' }), {
      code: ErrorCode.INVALID_ARGUMENT,
    });
  });

  test('saveToken stores the SDK token by value and gives it the id', async () => {
    const store = new MemoryStore();
    const adapter = officialSdkStore(store, { sdk, accountsUrl: 'https://accounts.zoho.eu/' });
    const theirs = sdkToken({
      user: USER,
      refresh: '1000.refresh-ada',
      access: '1000.access-ada',
      expiresIn: String(EXPIRY),
      apiDomain: 'https://www.zohoapis.eu',
    });
    theirs.setRedirectURL('https://app.example.com/callback');
    await adapter.saveToken(theirs);
    assert.equal(theirs.getId(), '1');
    const [ours, ...rest] = await store.getTokens();
    assert.equal(rest.length, 0);
    assert.deepEqual(ours?.toInit(), {
      id: '1',
      userSignature: ours?.userSignature,
      clientId: CLIENT.clientId,
      clientSecret: CLIENT.clientSecret,
      redirectUrl: 'https://app.example.com/callback',
      grantToken: null,
      refreshToken: '1000.refresh-ada',
      accessToken: '1000.access-ada',
      expiresAt: EXPIRY,
      apiDomain: 'https://www.zohoapis.eu',
      accountsUrl: 'https://accounts.zoho.eu',
    });
    assert.equal(ours?.userName, USER);
  });

  test('findToken fills only the missing fields of the given token and returns it; null when nothing matches', async () => {
    const store = new MemoryStore();
    await store.saveToken(stored({ grantToken: '1000.grant-ada', redirectUrl: 'https://app.example.com/cb' }));
    const adapter = officialSdkStore(store, { sdk });

    const theirs = sdkToken({ user: USER, access: 'kept-by-the-sdk' });
    const found = await adapter.findToken(theirs);
    assert.equal(found, theirs);
    assert.equal(theirs.getId(), '1');
    assert.equal(theirs.getAccessToken(), 'kept-by-the-sdk');
    assert.equal(theirs.getRefreshToken(), '1000.refresh-ada');
    assert.equal(theirs.getGrantToken(), '1000.grant-ada');
    assert.equal(theirs.getExpiresIn(), String(EXPIRY));
    assert.equal(theirs.getAPIDomain(), 'https://www.zohoapis.eu');
    assert.equal(theirs.getRedirectURL(), 'https://app.example.com/cb');
    assert.equal(theirs.getUserSignature()?.getName(), USER);

    // By refresh token (with the client), as their third rule.
    const byRefresh = sdkToken({ refresh: '1000.refresh-ada' });
    assert.equal(await adapter.findToken(byRefresh), byRefresh);
    assert.ok(byRefresh.getUserSignature() instanceof sdk.UserSignature);
    assert.equal(byRefresh.getUserSignature()?.getName(), USER);

    assert.equal(await adapter.findToken(sdkToken({ user: 'grace@example.com' })), null);
    // No key at all (their stores would run "select … limit 1" and return someone else's row).
    assert.equal(
      await adapter.findToken(
        new sdk.OAuthToken(CLIENT.clientId, CLIENT.clientSecret, null, null, null, null, null, null),
      ),
      null,
    );
  });

  test('findTokenById and getTokens build new SDK tokens; an unknown id is null', async () => {
    const store = new MemoryStore();
    await store.saveToken(stored());
    await store.saveToken(
      stored({
        userSignature: 'grace@example.com',
        refreshToken: '1000.refresh-grace',
        accessToken: null,
        expiresAt: null,
        apiDomain: null,
      }),
    );
    const adapter = officialSdkStore(store, { sdk });

    const byId = await adapter.findTokenById('1');
    assert.ok(byId instanceof sdk.OAuthToken);
    assert.ok(byId.getUserSignature() instanceof sdk.UserSignature);
    assert.equal(byId.getUserSignature()?.getName(), USER);
    assert.equal(byId.getId(), '1');
    assert.equal(byId.getClientId(), CLIENT.clientId);
    assert.equal(byId.getClientSecret(), CLIENT.clientSecret);
    assert.equal(byId.getRefreshToken(), '1000.refresh-ada');
    assert.equal(byId.getAccessToken(), '1000.access-ada');
    assert.equal(byId.getExpiresIn(), String(EXPIRY));
    assert.equal(typeof byId.getExpiresIn(), 'string');
    assert.equal(byId.getAPIDomain(), 'https://www.zohoapis.eu');
    assert.equal(byId.getGrantToken(), null);
    assert.equal(await adapter.findTokenById('99'), null);

    const all = await adapter.getTokens();
    assert.deepEqual(
      all.map((t) => [t.getId(), t.getUserSignature()?.getName(), t.getAccessToken(), t.getExpiresIn() ?? null]),
      [
        ['1', USER, '1000.access-ada', String(EXPIRY)],
        ['2', 'grace@example.com', null, null],
      ],
    );
    assert.ok(all.every((t) => t instanceof sdk.OAuthToken));

    await adapter.deleteToken('1');
    await adapter.deleteToken('99'); // unknown: a no-op
    assert.deepEqual(
      (await store.getTokens()).map((t) => t.id),
      ['2'],
    );
    await adapter.deleteTokens();
    assert.deepEqual(await store.getTokens(), []);
  });

  test('saveToken: a null field keeps the stored value, an empty string clears it', async () => {
    const store = new MemoryStore();
    await store.saveToken(stored({ grantToken: '1000.grant-ada', redirectUrl: 'https://app.example.com/cb' }));
    const adapter = officialSdkStore(store, { sdk });
    // What the SDK saves after a refresh of a token it found by id: the new access token and expiry.
    const refreshed = new sdk.OAuthToken(null, null, null, null, null, '1', '1000.access-new', null);
    refreshed.setExpiresIn(String(EXPIRY + HOUR));
    await adapter.saveToken(refreshed);
    let ours = await store.findTokenById('1');
    assert.equal(ours?.accessToken, '1000.access-new');
    assert.equal(ours?.expiresAt, EXPIRY + HOUR);
    assert.equal(ours?.refreshToken, '1000.refresh-ada');
    assert.equal(ours?.grantToken, '1000.grant-ada');
    assert.equal(ours?.userName, USER);
    assert.equal(ours?.accountsUrl, 'https://accounts.zoho.eu');

    const cleared = new sdk.OAuthToken(null, null, '', null, '', '1', null, null);
    cleared.setExpiresIn('');
    await adapter.saveToken(cleared);
    ours = await store.findTokenById('1');
    assert.equal(ours?.grantToken, null);
    assert.equal(ours?.redirectUrl, null);
    assert.equal(ours?.expiresAt, null);
    assert.equal(ours?.accessToken, '1000.access-new');
  });

  test("the SDK's learned user name email:orgId is stored as the email, and found either way", async () => {
    const store = new MemoryStore();
    const adapter = officialSdkStore(store, { sdk });
    await adapter.saveToken(
      sdkToken({ user: `${USER}:5725767000000000004`, refresh: '1000.refresh-ada', access: '1000.access-ada' }),
    );
    assert.equal((await store.findTokenById('1'))?.userName, USER);
    const theirs = sdkToken({ user: `${USER}:5725767000000000004` });
    assert.equal(await adapter.findToken(theirs), theirs);
    assert.equal(theirs.getId(), '1');

    const keeping = officialSdkStore(new MemoryStore(), { sdk, keepOrgIdInUserName: true });
    await keeping.saveToken(sdkToken({ user: `${USER}:57`, refresh: '1000.refresh-ada' }));
    assert.equal((await keeping.findTokenById('1'))?.getUserSignature()?.getName(), `${USER}:57`);
    assert.equal(await keeping.findToken(sdkToken({ user: USER })), null);
  });

  test("the accounts server comes from the SDK's environment, and a stored binding is never changed", async () => {
    const store = new MemoryStore();
    const environment = new sdk.Environment(
      'https://www.zohoapis.in',
      'https://accounts.zoho.in/oauth/v2/token',
      'https://content.zohoapis.in',
    );
    const module = { ...sdk, Initializer: { getInitializer: async () => ({ getEnvironment: () => environment }) } };
    const adapter = officialSdkStore(store, { sdk: module });
    await adapter.saveToken(sdkToken({ user: USER, refresh: '1000.refresh-ada' }));
    assert.equal((await store.findTokenById('1'))?.accountsUrl, 'https://accounts.zoho.in');

    await store.saveToken(stored({ userSignature: 'grace@example.com', refreshToken: '1000.refresh-grace' }));
    await adapter.saveToken(sdkToken({ id: '2', access: '1000.access-grace-2' }));
    const grace = await store.findTokenById('2');
    assert.equal(grace?.accessToken, '1000.access-grace-2');
    assert.equal(grace?.accountsUrl, 'https://accounts.zoho.eu');

    // The real SDK, not initialized in this process: nothing to learn, nothing recorded.
    const plain = new MemoryStore();
    await officialSdkStore(plain, { sdk }).saveToken(sdkToken({ user: USER, refresh: '1000.refresh-ada' }));
    assert.equal((await plain.findTokenById('1'))?.accountsUrl, null);
    // An environment whose accounts URL is not a token endpoint says nothing either.
    const odd = new sdk.Environment(
      'https://crm.example.com',
      'https://sso.example.com/token',
      'https://crm.example.com',
    );
    const oddStore = new MemoryStore();
    await officialSdkStore(oddStore, {
      sdk: { ...sdk, Initializer: { getInitializer: async () => ({ getEnvironment: () => odd }) } },
    }).saveToken(sdkToken({ user: USER, refresh: '1000.refresh-ada' }));
    assert.equal((await oddStore.findTokenById('1'))?.accountsUrl, null);
  });

  test('errors are our typed errors, without secrets', async () => {
    const store = new MemoryStore();
    await store.saveToken(stored());
    await store.saveToken(stored({ userSignature: 'grace@example.com', refreshToken: '1000.refresh-grace' }));
    const adapter = officialSdkStore(store, { sdk });
    // Grace's user with Ada's refresh token: two different rows.
    const conflict = await rejectsWith(
      adapter.saveToken(sdkToken({ user: 'grace@example.com', refresh: '1000.refresh-ada' })),
      ErrorCode.TOKEN_CONFLICT,
    );
    const shown = [conflict.message, inspect(conflict, { depth: 5 }), JSON.stringify(conflict)].join('\n');
    for (const secret of ['1000.refresh-ada', '1000.refresh-grace', CLIENT.clientSecret])
      assert.ok(!shown.includes(secret), 'a secret in the error');

    const badExpiry = await rejectsWith(
      adapter.saveToken(sdkToken({ id: '1', expiresIn: 'soon' })),
      ErrorCode.INVALID_TOKEN,
    );
    assert.equal(badExpiry.field, 'expiresIn');
    await rejectsWith(adapter.saveToken({}), ErrorCode.INVALID_ARGUMENT);
    await rejectsWith(adapter.findToken({ getId: () => '1' }), ErrorCode.INVALID_ARGUMENT);
  });
});

/** Runs the official SDK in a child process (its Initializer is process-global) and returns its result. */
async function officialSdk(task: OfficialSdkTask): Promise<OfficialSdkResult> {
  const args = ['--conditions=zoho-token-store-source', '--import', 'tsx', CHILD, JSON.stringify(task)];
  try {
    const { stdout } = await run(process.execPath, args, { cwd: ROOT, timeout: 60_000 });
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as OfficialSdkResult;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`the official SDK process failed:\n${stderr ?? ''}\n${stdout ?? ''}`, { cause: error });
  }
}

/**
 * The official SDK exchanges a grant code, calls the API, refreshes in a second process; then our
 * ZohoAuth serves the same user from the same store without another refresh.
 *
 * Time: the SDK decides expiry with the real `Date.now()` and writes `expiresIn` = real now + 1 h,
 * while the emulator runs on its own manual clock. The emulator starts one hour in the past, so
 * moving its clock past the first access token's expiry lands back on (about) real time: the old
 * token is then dead at the emulator, and the next token's expiry agrees on both clocks. The SDK
 * only refreshes what its stored `expiresIn` says is expired, so the test also moves the stored
 * `expiresAt` into the past (real time).
 */
async function officialSdkScenario(
  emu: ZohoEmulator,
  store: TokenStore,
  spec: OfficialSdkTask['store'],
): Promise<void> {
  const base = {
    store: spec,
    url: emu.url,
    clientId: CLIENT.clientId,
    clientSecret: CLIENT.clientSecret,
    resourcePath: tempDir('official-sdk-res'),
  };

  // 1. Exchange: the SDK gets a grant code only; it learns the user from the CRM.
  const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: USER, scopes: SCOPES });
  const before = Date.now();
  const first = await officialSdk({ ...base, mode: 'exchange', grantCode: code });
  const afterExchange = Date.now();
  assert.deepEqual(first, { status: 200, email: USER, tokenId: '1' });
  assert.equal(emu.stats().grantRequests, 1);
  const [exchanged, ...others] = await store.getTokens();
  assert.equal(others.length, 0, 'one token stored');
  assert.ok(exchanged);
  assert.equal(exchanged.id, '1');
  assert.equal(exchanged.userName, USER);
  assert.equal(exchanged.clientId, CLIENT.clientId);
  assert.equal(exchanged.clientSecret, CLIENT.clientSecret);
  assert.deepEqual([exchanged.refreshToken], emu.refreshTokensOf({ clientId: CLIENT.clientId, user: USER }));
  assert.equal(emu.tokenInfo(exchanged.accessToken!)?.type, 'access');
  assert.equal(emu.tokenInfo(exchanged.accessToken!)?.user, USER);
  assert.equal(exchanged.grantToken, code, 'the SDK keeps the used grant code (its behaviour)');
  assert.ok(
    exchanged.expiresAt! >= before + HOUR && exchanged.expiresAt! <= afterExchange + HOUR,
    `expiresAt ${exchanged.expiresAt} is absolute epoch ms`,
  );
  assert.equal(exchanged.apiDomain, emu.url);
  assert.equal(exchanged.accountsUrl, emu.url, "bound to the SDK environment's accounts server");

  // 2. An hour later: the access token is dead at the emulator and expired in the store.
  emu.clock.advance(HOUR + 1000);
  assert.equal(emu.tokenInfo(exchanged.accessToken!), undefined);
  await store.saveToken(new OAuthToken({ id: exchanged.id!, expiresAt: Date.now() - 1000 }));

  // 3. A new process resumes the user from the store: the SDK refreshes once, saves, calls the API.
  const beforeRefresh = Date.now();
  const second = await officialSdk({ ...base, mode: 'resume', user: USER });
  const afterRefresh = Date.now();
  assert.deepEqual(second, { status: 200, email: USER, tokenId: '1' });
  assert.equal(emu.stats().refreshRequests, 1);
  assert.equal(emu.stats().grantRequests, 1);
  const [refreshed, ...more] = await store.getTokens();
  assert.equal(more.length, 0, 'still one token');
  assert.ok(refreshed);
  assert.equal(refreshed.id, '1');
  assert.equal(refreshed.userName, USER);
  assert.equal(refreshed.refreshToken, exchanged.refreshToken);
  assert.notEqual(refreshed.accessToken, exchanged.accessToken);
  assert.equal(emu.tokenInfo(refreshed.accessToken!)?.refreshToken, exchanged.refreshToken);
  assert.ok(
    refreshed.expiresAt! >= beforeRefresh + HOUR && refreshed.expiresAt! <= afterRefresh + HOUR,
    `expiresAt ${refreshed.expiresAt}`,
  );
  assert.equal(refreshed.accountsUrl, emu.url);
  assert.equal(refreshed.apiDomain, emu.url);

  // 4. Our ZohoAuth on the same store serves that user: the stored access token, no new refresh.
  const auth = authFor(emu, store);
  assert.equal(await auth.getAccessToken({ user: USER }), refreshed.accessToken);
  assert.equal(emu.stats().refreshRequests, 1);
}

describe('the official SDK on our stores, against the emulator', () => {
  test('SqliteStore', { timeout: 120_000 }, async () => {
    const emu = await emulator({ now: Date.now() - HOUR });
    const file = dbFile('official-sdk');
    await officialSdkScenario(emu, sqliteStore(file), { kind: 'sqlite', file });
  });
});

describe(
  'the official SDK on PostgresStore, against the emulator',
  { skip: await skipUnlessReachable(POSTGRES) },
  () => {
    const url = `postgres://postgres@${POSTGRES.host}:${POSTGRES.port}/test`;
    const table = `official_sdk_${process.pid}`;
    const admin = new pg.Pool({ connectionString: url, max: 1 });
    admin.on('error', () => {});
    after(async () => {
      await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_meta", "${table}_lock" CASCADE`);
      await admin.end();
    });

    test('PostgresStore', { timeout: 120_000 }, async () => {
      const emu = await emulator({ now: Date.now() - HOUR });
      const store = new PostgresStore({ url, table, poolSize: 2 });
      after(() => store.close());
      await officialSdkScenario(emu, store, { kind: 'postgres', url, table });
    });
  },
);
