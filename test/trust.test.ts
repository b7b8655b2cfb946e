// Issue #10, defects 1, 2 and 5: a forged row gets no secret; a refresh token is erased only when
// its own data center rejects it; a re-login elsewhere does not break the next API call.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { inspect } from 'node:util';
import pg from 'pg';
import {
  DataCenter,
  ErrorCode,
  FileStore,
  SqliteStore,
  ZohoAuth,
  ZohoClient,
  type Logger,
  type TokenStore,
} from 'zoho-token-store';
import type { ZohoEmulator } from 'zoho-token-store/emulator';
import { PostgresStore } from 'zoho-token-store/postgres';
import { CLIENT, HOUR, authFor, dbFile, emulator, login } from './fixtures/auth-setup.js';
import { assertNoSecrets, rejectsWith } from './helpers/errors.js';
import { POSTGRES, skipUnlessReachable } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';
import { openRawDefault } from './helpers/sqlite-drivers.js';

const USER = 'ada.lovelace@example.com';
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const PG_SKIP = await skipUnlessReachable(POSTGRES);

/** A server that answers like Zoho's accounts server and API and records every request it gets. */
async function attackerServer(): Promise<{ url: string; requests: () => number; bodies: string[] }> {
  const bodies: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      bodies.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)} ${body}`);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          access_token: '1000.stolen',
          expires_in: 3600,
          api_domain: 'x',
          token_type: 'Bearer',
          status: 'success',
          users: [],
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, requests: () => bodies.length, bodies };
}

function capturingLogger(): { logger: Logger; text: () => string } {
  const lines: unknown[][] = [];
  const capture =
    (level: string) =>
    (...args: unknown[]): void =>
      void lines.push([level, ...args]);
  return {
    logger: { debug: capture('debug'), info: capture('info'), warn: capture('warn'), error: capture('error') },
    text: () => lines.map((line) => inspect(line, { depth: 10 })).join('\n'),
  };
}

/** A row forged in the database, as one `UPDATE` by someone without the key would. */
type Forge = (id: string, set: { accountsUrl?: string; apiDomain?: string }) => Promise<void>;

async function forgedRowCase(emu: ZohoEmulator, store: TokenStore, forge: Forge): Promise<void> {
  const evil = await attackerServer();
  const token = await login(emu, authFor(emu, store), USER);
  const secrets = [CLIENT.clientSecret, token.refreshToken!, token.accessToken!];

  // The accounts server: no refresh (client secret + refresh token), no revoke.
  await forge(token.id!, { accountsUrl: evil.url, apiDomain: evil.url });
  emu.clock.advance(HOUR);
  const log = capturingLogger();
  const auth = authFor(emu, store, { logger: log.logger });
  const refused = await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.UNTRUSTED_ENDPOINT);
  assertNoSecrets(refused, secrets);
  assert.match(refused.message, new RegExp(`to ${evil.url.replace(/[.]/g, '\\.')}:`));
  await rejectsWith(auth.revoke({ user: USER }), ErrorCode.UNTRUSTED_ENDPOINT);
  await rejectsWith(new ZohoClient({ auth }).get('/crm/v8/org', { user: USER }), ErrorCode.UNTRUSTED_ENDPOINT);
  assert.equal((await store.findTokenById(token.id!))?.refreshToken, token.refreshToken, 'the row stays as it was');
  assert.match(log.text(), /refused to send credentials to an untrusted endpoint/);
  assert.ok(log.text().includes(evil.url), 'the log names the untrusted origin');
  for (const secret of secrets) assert.ok(!log.text().includes(secret), 'no secret in the logs');

  // The API domain only: a valid access token is not sent there either (ZohoClient).
  await forge(token.id!, { accountsUrl: emu.url, apiDomain: `${evil.url}/crm` });
  const fresh = authFor(emu, store, { logger: log.logger });
  await rejectsWith(new ZohoClient({ auth: fresh }).get('/crm/v8/org', { user: USER }), ErrorCode.UNTRUSTED_ENDPOINT);
  assert.equal(evil.requests(), 0, `the attacker's server got: ${evil.bodies.join('\n')}`);
  for (const secret of [...secrets, await fresh.getAccessToken({ user: USER })])
    assert.ok(!log.text().includes(secret), 'no secret in the logs');
}

describe('defect 1: secrets never follow a forged row', () => {
  test('SQLite: a row pointed at another server gets no refresh, revoke or API call; UNTRUSTED_ENDPOINT', async () => {
    const emu = await emulator();
    const filename = dbFile('trust');
    const store = new SqliteStore({ filename });
    after(() => store.close());
    const db = openRawDefault(filename);
    after(() => db.close());
    await forgedRowCase(emu, store, async (id, set) => {
      if (set.accountsUrl !== undefined)
        db.run('UPDATE oauthtoken SET accounts_url = ? WHERE id = ?', set.accountsUrl, id);
      if (set.apiDomain !== undefined) db.run('UPDATE oauthtoken SET api_domain = ? WHERE id = ?', set.apiDomain, id);
    });
  });

  describe('PostgreSQL', { skip: PG_SKIP }, () => {
    test('the same forged row in a shared SQL table', async () => {
      const emu = await emulator();
      const table = `trust_${process.pid}_${Date.now()}`;
      const store = new PostgresStore({ url: PG_URL, table, poolSize: 2 });
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      after(async () => {
        await store.close();
        for (const suffix of ['', '_meta', '_lock']) await client.query(`DROP TABLE IF EXISTS "${table}${suffix}"`);
        await client.end();
      });
      await forgedRowCase(emu, store, async (id, set) => {
        if (set.accountsUrl !== undefined)
          await client.query(`UPDATE "${table}" SET accounts_url = $1 WHERE id = $2`, [set.accountsUrl, id]);
        if (set.apiDomain !== undefined)
          await client.query(`UPDATE "${table}" SET api_domain = $1 WHERE id = $2`, [set.apiDomain, id]);
      });
    });
  });

  test("Zoho's own servers, the configured environment and trustedEndpoints stay usable", async () => {
    const emu = await emulator();
    const store = new SqliteStore({ filename: dbFile('trust') });
    after(() => store.close());
    await login(emu, authFor(emu, store), USER);
    emu.clock.advance(HOUR);
    // Configured for Zoho's US data center, with the emulator allowed explicitly.
    const base = {
      store,
      environment: DataCenter.US.production,
      clientId: CLIENT.clientId,
      clientSecret: CLIENT.clientSecret,
      clock: emu.clock,
      retries: 0,
    };
    await rejectsWith(new ZohoAuth(base).getAccessToken({ user: USER }), ErrorCode.UNTRUSTED_ENDPOINT);
    const allowed = new ZohoAuth({ ...base, trustedEndpoints: [new URL(emu.url).origin] });
    const users = await new ZohoClient({ auth: allowed }).get<{ users: { email: string }[] }>('/crm/v8/users', {
      user: USER,
      query: { type: 'CurrentUser' },
    });
    assert.equal(users?.users[0]?.email, USER);
    assert.equal(emu.stats().refreshSuccesses, 1);
    assert.equal(allowed.checkApiDomain({ id: '1', user: null, apiDomain: 'https://www.zohoapis.eu' }), undefined);
    assert.equal(
      allowed.checkApiDomain({ id: '1', user: null, apiDomain: 'https://sandbox.zohoapis.com.au/' }),
      undefined,
    );
    for (const apiDomain of [
      'http://www.zohoapis.com',
      'https://www.zohoapis.com.evil.example',
      'https://user:pw@www.zohoapis.com',
      'not a url',
    ]) {
      assert.throws(
        () => allowed.checkApiDomain({ id: '1', user: null, apiDomain }),
        { code: ErrorCode.UNTRUSTED_ENDPOINT },
        apiDomain,
      );
    }
    for (const bad of [['https://proxy.example/path'], 'https://proxy.example', ['ftp://proxy.example']]) {
      assert.throws(() => new ZohoAuth({ ...base, trustedEndpoints: bad as never }), {
        code: ErrorCode.INVALID_ARGUMENT,
      });
    }
  });
});

/** Stores holding one official-SDK row that names no data center (no api_domain, no accounts_url). */
const OFFICIAL_ROWS: Record<string, (refreshToken: string) => TokenStore> = {
  // The official SDKs' SQL table (api_domain empty).
  sqlite: (refreshToken) => {
    const filename = join(tempDir('trust-sdk'), 'zohooauth.db');
    const db = openRawDefault(filename);
    db.exec(
      'CREATE TABLE oauthtoken (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), client_secret varchar(255), ' +
        'refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), ' +
        'api_domain varchar(255), primary key (id))',
    );
    db.run(
      'INSERT INTO oauthtoken VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)',
      '1',
      USER,
      CLIENT.clientId,
      CLIENT.clientSecret,
      refreshToken,
      '1000.oldaccess.beef',
      null,
      '1000',
      null,
    );
    db.close();
    return new SqliteStore({ filename });
  },
  // The older official token file: 9 columns.
  file: (refreshToken) => {
    const filename = join(tempDir('trust-sdk'), 'sdk_tokens.txt');
    const header =
      'id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url';
    writeFileSync(
      filename,
      `${header}\n1,${USER},${CLIENT.clientId},${CLIENT.clientSecret},${refreshToken},1000.oldaccess.beef,,1000,`,
    );
    return new FileStore({ filename });
  },
};

describe('defect 2: a refresh token is erased only by the data center it is bound to', () => {
  for (const [kind, open] of Object.entries(OFFICIAL_ROWS)) {
    test(`${kind}: an unbound official-SDK row rejected at the configured DC keeps its refresh token: TOKEN_UNBOUND; bound, it is cleared`, async () => {
      const emu = await emulator();
      // A refresh token the emulator does not know: it answers invalid_code, as a DC that never issued it does.
      const refreshToken = '1000.0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef';
      const store = open(refreshToken);
      after(() => store.close());
      const dead: string[] = [];
      const auth = authFor(emu, store, { hooks: { onTokenDead: (event) => void dead.push(event.token.id!) } });

      const error = await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.TOKEN_UNBOUND);
      assertNoSecrets(error, [refreshToken, CLIENT.clientSecret]);
      assert.ok(error.message.includes(new URL(emu.url).origin), error.message);
      assert.match(error.message, /no data center binding/);
      assert.match(error.message, /auth\.bind\(/);
      assert.match(error.message, /zoho-tokens bind 1 --dc/);
      assert.equal(emu.stats().byError['invalid_code'], 1);
      assert.equal((await store.findTokenById('1'))?.refreshToken, refreshToken, 'the refresh token is kept');
      assert.deepEqual(dead, []);
      assert.ok((error.retryAfterMs ?? 0) > 0, 'the rejection cools the token down');
      // The same guess is not sent again at once: the next call fails fast, Zoho is not asked.
      const again = await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.TOKEN_UNBOUND);
      assert.ok((again.retryAfterMs ?? 0) > 0);
      assert.equal(emu.stats().byError['invalid_code'], 1);

      // Bound to that data center, the same rejection is final: cleared, onTokenDead.
      const bound = await auth.bind({ user: USER }, emu.environment);
      assert.equal(bound.accountsUrl, emu.environment.accountsUrl);
      assert.equal(bound.apiDomain, emu.environment.apiDomain);
      await rejectsWith(auth.getAccessToken({ user: USER }), ErrorCode.AUTH_REQUIRED);
      assert.equal((await store.findTokenById('1'))?.refreshToken ?? null, null);
      assert.deepEqual(dead, ['1']);
    });
  }

  test('bind: a data center by name or a trusted environment; never moves a bound row, never an untrusted server', async () => {
    const emu = await emulator();
    const store = OFFICIAL_ROWS['sqlite']!('1000.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb');
    after(() => store.close());
    const auth = new ZohoAuth({
      store,
      environment: DataCenter.US.sandbox,
      clientId: CLIENT.clientId,
      clientSecret: CLIENT.clientSecret,
    });
    await rejectsWith(auth.bind({ user: USER }, 'XX'), ErrorCode.INVALID_ARGUMENT);
    await rejectsWith(auth.bind({ user: USER }, emu.environment), ErrorCode.UNTRUSTED_ENDPOINT);
    await rejectsWith(auth.bind({ user: 'nobody@example.com' }, 'EU'), ErrorCode.AUTH_REQUIRED);
    const token = await auth.bind({ user: USER }, 'eu');
    assert.deepEqual([token.accountsUrl, token.apiDomain], ['https://accounts.zoho.eu', 'https://sandbox.zohoapis.eu']);
    await auth.bind({ id: '1' }, 'EU');
    const moved = await rejectsWith(auth.bind({ id: '1' }, 'US'), ErrorCode.INVALID_ARGUMENT);
    assert.match(moved.message, /already bound to https:\/\/accounts\.zoho\.eu/);
    assert.equal((await store.findTokenById('1'))?.accountsUrl, 'https://accounts.zoho.eu');
  });
});

describe('defect 5: a re-login in another process', () => {
  test("the first process's next API call finds the new token id instead of AUTH_REQUIRED", async () => {
    const emu = await emulator();
    const filename = dbFile('trust');
    const a = authFor(emu, new SqliteStore({ filename }));
    const b = authFor(emu, new SqliteStore({ filename }));
    after(() => Promise.all([a.store.close(), b.store.close()]));
    const first = await login(emu, a, USER);
    const client = new ZohoClient({ auth: a });
    await client.get('/crm/v8/org', { user: USER });
    // Process B logs the user out (revoked at Zoho: the cached access token dies) and in again.
    await b.revoke({ user: USER });
    const second = await login(emu, b, USER);
    assert.notEqual(second.id, first.id);
    const users = await client.get<{ users: { email: string }[] }>('/crm/v8/users', {
      user: USER,
      query: { type: 'CurrentUser' },
    });
    assert.equal(users?.users[0]?.email, USER);
    assert.equal(await a.getAccessToken({ user: USER }), second.accessToken);
    assert.equal(emu.stats().refreshRequests, 0, 'the new token was used, not refreshed');
  });
});
