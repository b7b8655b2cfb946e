// Multi-DC clients end to end: one client enabled in the us and eu data centers, used through
// ZohoAuth on a SQLite store. Each data center knows only the tokens it issued, so a token must be
// refreshed where it came from, and a row pointing at the wrong accounts server fails as at Zoho.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, OAuthToken } from 'zoho-token-store';
import { CLIENT, HOUR, SCOPES, authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';

const EU_USER = 'eva@example.com';
const US_USER = 'sam@example.com';

describe('multi-DC client through ZohoAuth', () => {
  test('each user is refreshed at their own data center; the other one answers invalid_code', async () => {
    const emu = await emulator({ dataCenters: ['us', 'eu'], clients: [{ ...CLIENT, dataCenters: ['us', 'eu'] }] });
    const eu = emu.environmentFor('eu');
    const store = sqliteStore();
    const auth = authFor(emu, store, { environments: [eu] });

    // An EU user: Zoho's global login sends the consent to the EU accounts server.
    const authUrl = new URL(auth.authorizationUrl({ scopes: SCOPES, state: 's' }));
    const atEu = new URL(authUrl.pathname + authUrl.search, eu.accountsUrl);
    const callback = await emu.approve(atEu, { user: EU_USER });
    assert.equal(new URL(callback).searchParams.get('location'), 'eu');
    const euToken = await auth.exchangeCallback(callback, { state: 's' });
    assert.equal(euToken.accountsUrl, eu.accountsUrl);
    assert.equal(euToken.apiDomain, eu.apiDomain);
    // A US user of the same client, by Self Client code at its home data center.
    const usToken = await login(emu, auth, US_USER);
    assert.equal(usToken.accountsUrl, emu.url);

    emu.clock.advance(HOUR);
    const before = emu.stats().byDataCenter;
    const euFresh = await auth.getAccessToken({ user: EU_USER });
    const usFresh = await auth.getAccessToken({ user: US_USER });
    assert.equal(emu.tokenInfo(euFresh)?.dc, 'eu');
    assert.equal(emu.tokenInfo(usFresh)?.dc, 'us');
    const after = emu.stats().byDataCenter;
    assert.deepEqual([after['eu']! - before['eu']!, after['us']! - before['us']!], [1, 1], 'one refresh at each');

    // A row whose accounts server says US holds an EU refresh token: the US server does not know it.
    await store.saveToken(new OAuthToken({ id: euToken.id!, accountsUrl: emu.url, apiDomain: emu.url }));
    emu.clock.advance(HOUR);
    const error = await auth.getAccessToken({ user: EU_USER }).then(
      () => assert.fail('refreshing an EU token at the US accounts server must fail'),
      (e: unknown) => e as { code?: string },
    );
    // invalid_code on refresh: the user must log in again, as after a real Zoho answer.
    assert.equal(error.code, ErrorCode.AUTH_REQUIRED);
    assert.equal(emu.stats().byError['invalid_code'], 1);
    // The EU server still knows the refresh token: nothing was revoked.
    assert.equal(emu.tokenInfo(euToken.refreshToken!)?.dc, 'eu');
  });
});
