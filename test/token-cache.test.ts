import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OAuthToken } from 'zoho-token-store';
import { TokenCache } from '../src/auth/token-cache.js';

const token = (i: number) =>
  new OAuthToken({
    id: String(i),
    userSignature: `u${i}@x.com`,
    accessToken: `a${i}`,
    expiresAt: 10_000,
  }) as OAuthToken & {
    id: string;
    accessToken: string;
    expiresAt: number;
  };

describe('TokenCache', () => {
  it('keeps at most maxEntries tokens, dropping the least recently stored, by id and by user', () => {
    const cache = new TokenCache(3);
    for (let i = 1; i <= 4; i++) cache.put(token(i), 'https://api', 5_000);
    assert.equal(cache.lookup({ id: '1' }, 0), undefined);
    assert.equal(cache.lookup({ user: 'u1@x.com' }, 0), undefined);
    assert.equal(cache.lookup({ id: '4' }, 0)?.creds.accessToken, 'a4');
    // Storing 2 again makes it the most recent: 3 goes next.
    cache.put(token(2), 'https://api', 5_000);
    cache.put(token(5), 'https://api', 5_000);
    assert.equal(cache.lookup({ user: 'u3@x.com' }, 0), undefined);
    assert.deepEqual(
      [2, 4, 5].map((i) => cache.lookup({ id: String(i) }, 0)?.creds.user),
      ['u2@x.com', 'u4@x.com', 'u5@x.com'],
    );
    // Past refreshAt an entry is not served.
    assert.equal(cache.lookup({ id: '5' }, 5_000), undefined);
  });
});
