import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { ErrorCode, OAuthToken, UserSignature, ZohoTokenError, redact } from 'zoho-token-store';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const client = {
  clientId: '1000.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123',
  clientSecret: 'f3a9c1d7e5b2a4c6d8e0f1a3b5c7d9e1f2a4b6c8d0',
};
const secrets = {
  refreshToken: '1000.1111aaaa2222bbbb3333cccc4444dddd.5555eeee6666ffff7777aaaa8888bbbb',
  accessToken: '1000.9999aaaa8888bbbb7777cccc6666dddd.5555eeee4444ffff3333aaaa2222bbbb',
  grantToken: '1000.0000aaaa1111bbbb2222cccc3333dddd.4444eeee5555ffff6666aaaa7777bbbb',
};

function invalidField(fn: () => unknown, field: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ZohoTokenError);
    assert.equal(error.code, ErrorCode.INVALID_TOKEN);
    assert.equal(error.field, field);
    return true;
  });
}

describe('OAuthToken', () => {
  it('keeps every field under the documented names', () => {
    const token = new OAuthToken({
      ...client,
      ...secrets,
      id: '42',
      userSignature: new UserSignature('a@x.com'),
      expiresAt: 1_700_000_000_000,
      redirectUrl: 'https://app/cb',
      apiDomain: 'https://www.zohoapis.eu',
      accountsUrl: 'https://accounts.zoho.eu',
    });
    assert.equal(token.id, '42');
    assert.equal(token.userSignature?.name, 'a@x.com');
    assert.equal(token.userName, 'a@x.com');
    assert.equal(token.clientId, client.clientId);
    assert.equal(token.clientSecret, client.clientSecret);
    assert.equal(token.refreshToken, secrets.refreshToken);
    assert.equal(token.accessToken, secrets.accessToken);
    assert.equal(token.grantToken, secrets.grantToken);
    assert.equal(token.expiresAt, 1_700_000_000_000);
    assert.equal(token.redirectUrl, 'https://app/cb');
    assert.equal(token.apiDomain, 'https://www.zohoapis.eu');
    assert.equal(token.accountsUrl, 'https://accounts.zoho.eu');
  });

  it('validates like the official SDKs and names the field', () => {
    invalidField(() => new OAuthToken({}), 'grantToken');
    invalidField(() => new OAuthToken({ clientId: 'x', clientSecret: 'y' }), 'grantToken');
    invalidField(() => new OAuthToken({ refreshToken: 'r' }), 'clientId');
    invalidField(() => new OAuthToken({ grantToken: 'g', clientId: 'c' }), 'clientSecret');
    invalidField(() => new OAuthToken({ accessToken: 'a', expiresAt: 1.5 }), 'expiresAt');
    invalidField(() => new OAuthToken({ accessToken: 'a', expiresAt: -1 }), 'expiresAt');
    invalidField(
      () => new OAuthToken({ accessToken: 'a', expiresAt: '1700000000000' as unknown as number }),
      'expiresAt',
    );
    invalidField(() => new OAuthToken({ accessToken: 42 as unknown as string }), 'accessToken');
    invalidField(() => new OAuthToken({ id: '12345678901' }), 'id');
    invalidField(() => new OAuthToken({ userSignature: 7 as unknown as string }), 'userSignature');
    invalidField(() => new UserSignature(''), 'userSignature');
    invalidField(() => new OAuthToken(null as unknown as object), 'init');
    // Each of these alone is enough.
    for (const init of [
      { id: '1' },
      { accessToken: 'a' },
      { userSignature: 'u@x' },
      { ...client, refreshToken: 'r' },
      { ...client, grantToken: 'g' },
    ]) {
      assert.ok(new OAuthToken(init));
    }
  });

  it('refuses a lone UTF-16 surrogate in every string field, naming the field and never the value', () => {
    const fields = [
      'id',
      'clientId',
      'clientSecret',
      'refreshToken',
      'accessToken',
      'grantToken',
      'redirectUrl',
      'apiDomain',
      'accountsUrl',
    ] as const;
    for (const lone of ['\ud800', '\udfff', 'ab\udc00', 'ab\ud83d']) {
      for (const field of fields) {
        const value = field === 'id' ? lone : `${secrets.refreshToken}${lone}`;
        assert.throws(
          () => new OAuthToken({ ...client, ...secrets, [field]: value }),
          (error: unknown) => {
            assert.ok(error instanceof ZohoTokenError);
            assert.equal(error.code, ErrorCode.INVALID_TOKEN);
            assert.equal(error.field, field);
            assert.ok(!error.message.includes(secrets.refreshToken), error.message);
            return true;
          },
        );
      }
      invalidField(() => new UserSignature(`user${lone}@example.com`), 'userSignature');
      invalidField(
        () => new OAuthToken({ accessToken: 'a', userSignature: `user${lone}@example.com` }),
        'userSignature',
      );
      // A UserSignature whose name was changed after it was built is checked again.
      const mutated = new UserSignature('user@example.com');
      (mutated as { name: string }).name = `user${lone}`;
      invalidField(() => new OAuthToken({ accessToken: 'a', userSignature: mutated }), 'userSignature');
    }
    // Surrogate pairs are whole characters: kept as they are.
    assert.equal(new OAuthToken({ accessToken: 'a\ud83d\ude42', userSignature: '🙂@example.com' }).accessToken, 'a🙂');
  });

  it('treats empty strings as null', () => {
    const token = new OAuthToken({ accessToken: 'a', refreshToken: '', userSignature: '' });
    assert.equal(token.refreshToken, null);
    assert.equal(token.userSignature, null);
  });

  it('reports expiry against a clock and a margin', () => {
    const token = new OAuthToken({ accessToken: 'a', expiresAt: 10_000 });
    assert.equal(token.isExpired(9_999), false);
    assert.equal(token.isExpired(10_000), true);
    assert.equal(token.isExpired(5_000, 5_000), true);
    assert.equal(token.isExpired(4_999, 5_000), false);
    assert.equal(new OAuthToken({ id: '1', expiresAt: 10_000 }).isExpired(0), true);
  });

  it('never shows a secret in JSON, String or inspect', () => {
    const token = new OAuthToken({ ...client, ...secrets, userSignature: 'a@x.com', expiresAt: 1 });
    const shown = [JSON.stringify(token), String(token), inspect(token), inspect({ nested: [token] }, { depth: 5 })];
    for (const text of shown) {
      for (const secret of [client.clientSecret, ...Object.values(secrets)]) assert.ok(!text.includes(secret), text);
      assert.ok(text.includes(redact(secrets.refreshToken)));
      assert.ok(text.includes('a@x.com'));
    }
    // toInit is the deliberate way to get the values.
    assert.equal(token.toInit().refreshToken, secrets.refreshToken);
  });

  it('redact shows no character of a secret, only a fingerprint keyed per process', () => {
    for (const secret of [client.clientSecret, secrets.refreshToken, secrets.accessToken, 'short-one']) {
      const shown = redact(secret);
      assert.match(shown, /^\[redacted #[0-9a-f]{8}\]$/, shown);
      assert.equal(redact(secret), shown, 'stable within the process, so log lines can be matched');
      // Not the plain SHA-256: that would confirm a guessed secret offline.
      assert.ok(!shown.includes(createHash('sha256').update(secret).digest('hex').slice(0, 8)));
    }
    assert.notEqual(redact(secrets.accessToken), redact(secrets.refreshToken));
    assert.equal(redact(''), '""');
    assert.equal(redact(null), 'null');
    const elsewhere = execFileSync(
      process.execPath,
      [
        '--conditions=zoho-token-store-source',
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { redact } from 'zoho-token-store'; process.stdout.write(redact(${JSON.stringify(client.clientSecret)}))`,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.match(elsewhere, /^\[redacted #[0-9a-f]{8}\]$/);
    assert.notEqual(elsewhere, redact(client.clientSecret), 'another process has another key');
  });

  it('with() copies and overrides', () => {
    const token = new OAuthToken({ ...client, ...secrets, expiresAt: 1 });
    const copy = token.with({ accessToken: 'new', expiresAt: 2 });
    assert.equal(copy.accessToken, 'new');
    assert.equal(copy.refreshToken, secrets.refreshToken);
    assert.equal(token.accessToken, secrets.accessToken);
  });
});
