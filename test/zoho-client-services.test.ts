import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DataCenter,
  ErrorCode,
  MemoryStore,
  OAuthToken,
  ZOHO_SERVICES,
  ZohoAuth,
  ZohoClient,
  zohoServiceUrl,
  type DataCenterName,
} from 'zoho-token-store';
import { authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { rejectsWith } from './helpers/errors.js';

const USER = 'multi@example.com';
const ACCESS = '1000.0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef';
const CLIENT = {
  clientId: '1000.SERVICESCLIENT000000000000000',
  clientSecret: 'services-secret-0123456789abcdef0123456',
};

/** The Zoho domain and API domain suffix of each data center, as their documentation pages list them. */
const EXPECTED: Record<DataCenterName, { zoho: string; apis: string }> = {
  US: { zoho: 'zoho.com', apis: 'zohoapis.com' },
  EU: { zoho: 'zoho.eu', apis: 'zohoapis.eu' },
  IN: { zoho: 'zoho.in', apis: 'zohoapis.in' },
  CN: { zoho: 'zoho.com.cn', apis: 'zohoapis.com.cn' },
  AU: { zoho: 'zoho.com.au', apis: 'zohoapis.com.au' },
  JP: { zoho: 'zoho.jp', apis: 'zohoapis.jp' },
  CA: { zoho: 'zohocloud.ca', apis: 'zohoapis.ca' },
  SA: { zoho: 'zoho.sa', apis: 'zohoapis.sa' },
};

/** A ZohoClient on a real Zoho data center's token, whose fetch records URLs and answers `{}` (no network). */
async function clientIn(
  name: DataCenterName,
  kind: 'production' | 'sandbox' = 'production',
  services?: Record<string, string | Record<string, string>>,
) {
  const env = DataCenter[name][kind];
  const store = new MemoryStore();
  const auth = new ZohoAuth({ store, environment: env, ...CLIENT });
  await store.saveToken(
    new OAuthToken({
      userSignature: USER,
      clientId: CLIENT.clientId,
      clientSecret: CLIENT.clientSecret,
      refreshToken: '1000.refresh',
      accessToken: ACCESS,
      expiresAt: Date.now() + 3_600_000,
      apiDomain: env.apiDomain,
      accountsUrl: env.accountsUrl,
    }),
  );
  const sent: { url: string; auth: string | null }[] = [];
  const client = new ZohoClient({
    auth,
    ...(services && { services }),
    fetch: async (input, init) => {
      sent.push({ url: String(input), auth: new Headers(init?.headers).get('authorization') });
      return new Response('{}', { headers: { 'content-type': 'application/json' } });
    },
  });
  return { client, sent };
}

describe('ZohoClient and other Zoho products on the same token', () => {
  test("each data center's hosts: own-host products and www.zohoapis paths", () => {
    for (const [name, dc] of Object.entries(EXPECTED) as [DataCenterName, { zoho: string; apis: string }][]) {
      const location = DataCenter[name].production.location;
      assert.equal(zohoServiceUrl('desk', location), `https://desk.${dc.zoho}`);
      assert.equal(zohoServiceUrl('projects', location), `https://projectsapi.${dc.zoho}`);
      assert.equal(zohoServiceUrl('people', location), `https://people.${dc.zoho}`);
      assert.equal(zohoServiceUrl('books', location), `https://www.${dc.apis}/books`);
      assert.equal(zohoServiceUrl('workdrive', location), `https://www.${dc.apis}/workdrive`);
      assert.equal(zohoServiceUrl('crm', location), DataCenter[name].production.apiDomain);
      for (const service of ZOHO_SERVICES)
        assert.match(zohoServiceUrl(service, location), /^https:\/\/[a-z.]+(\/[a-z]+)?$/);
    }
    assert.throws(
      () => zohoServiceUrl('nope', 'eu'),
      (e: { code?: string; field?: string }) => e.field === 'service',
    );
    assert.throws(
      () => zohoServiceUrl('desk', 'xx'),
      (e: { code?: string; field?: string }) => e.field === 'location',
    );
  });

  test('an EU token reaches desk.zoho.eu, projectsapi.zoho.eu and www.zohoapis.eu/books with its own header', async () => {
    const { client, sent } = await clientIn('EU');
    await client.get('/api/v1/tickets', { user: USER, service: 'desk' });
    await client.get('/restapi/portals/', { user: USER, service: 'projects' });
    await client.get('/v3/contacts', { user: USER, service: 'books', query: { organization_id: 1 } });
    await client.get('/crm/v8/org', { user: USER });
    assert.deepEqual(
      sent.map((s) => s.url),
      [
        'https://desk.zoho.eu/api/v1/tickets',
        'https://projectsapi.zoho.eu/restapi/portals/',
        'https://www.zohoapis.eu/books/v3/contacts?organization_id=1',
        'https://www.zohoapis.eu/crm/v8/org',
      ],
    );
    assert.ok(sent.every((s) => s.auth === `Zoho-oauthtoken ${ACCESS}`));

    const ca = await clientIn('CA', 'sandbox');
    await ca.client.get('/api/v1/tickets', { user: USER, service: 'desk' });
    assert.equal(ca.sent[0]!.url, 'https://desk.zohocloud.ca/api/v1/tickets', 'a sandbox token: its data center');

    const defaulted = new ZohoClient({
      auth: (await clientIn('IN')).client.auth,
      service: 'people',
      fetch: async (input) => {
        assert.equal(String(input), 'https://people.zoho.in/people/api/forms');
        return new Response('{}');
      },
    });
    await defaulted.get('/people/api/forms', { user: USER });
  });

  test('configured hosts: one for every token, or per data center (others from the table)', async () => {
    const { client, sent } = await clientIn('EU', 'production', {
      desk: { eu: 'https://desk-proxy.example.com/eu/' },
      sprints: 'https://sprintsapi.zoho.eu',
    });
    await client.get('/api/v1/tickets', { user: USER, service: 'desk' });
    await client.get('/zsapi/teams/', { user: USER, service: 'sprints' });
    assert.deepEqual(
      sent.map((s) => s.url),
      ['https://desk-proxy.example.com/eu/api/v1/tickets', 'https://sprintsapi.zoho.eu/zsapi/teams/'],
    );
    const us = await clientIn('US', 'production', { desk: { eu: 'https://desk-proxy.example.com/eu' } });
    await us.client.get('/api/v1/tickets', { user: USER, service: 'desk' });
    assert.equal(us.sent[0]!.url, 'https://desk.zoho.com/api/v1/tickets');
    const auth = us.client.auth;
    for (const services of [
      { desk: 'ftp://x' },
      { desk: 'https://user:pw@x.example' },
      { desk: { eu: 'https://x/?q=1' } },
      { desk: 5 },
    ]) {
      assert.throws(
        () => new ZohoClient({ auth, services: services as never }),
        (e: { code?: string; field?: string }) =>
          e.code === ErrorCode.INVALID_ARGUMENT && /^services\.desk/.test(e.field ?? ''),
      );
    }
  });

  test('an unknown service, or a token with no Zoho data center: typed error, no request sent', async () => {
    const { client, sent } = await clientIn('EU');
    const unknown = await rejectsWith(
      client.get('/x', { user: USER, service: 'evil.example.com' }),
      ErrorCode.INVALID_ARGUMENT,
    );
    assert.equal(unknown.field, 'service');
    assert.deepEqual(sent, []);

    // The emulator is a custom environment: no built-in host of Desk is trusted for its tokens.
    const emu = await emulator();
    const auth = authFor(emu, sqliteStore());
    await login(emu, auth, USER);
    let calls = 0;
    const emulated = new ZohoClient({ auth, fetch: (input, init) => (calls++, fetch(input, init)) });
    const untrusted = await rejectsWith(
      emulated.get('/api/v1/tickets', { user: USER, service: 'desk' }),
      ErrorCode.UNTRUSTED_ENDPOINT,
    );
    assert.match(untrusted.message, /no Zoho data center's/);
    assert.ok(!untrusted.message.includes(ACCESS));
    assert.equal(calls, 0);
    // …unless the application configures it: then it goes there (here the emulator itself).
    const configured = new ZohoClient({ auth, services: { org: emu.environment.apiDomain } });
    const org = await configured.get<{ org: unknown[] }>('/crm/v8/org', { user: USER, service: 'org' });
    assert.equal(org?.org.length, 1);
  });
});
