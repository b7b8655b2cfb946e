import { randomBytes } from 'node:crypto';
import { OAuthToken, type OAuthTokenInit } from 'zoho-token-store';

/**
 * A token whose every secret is unique to `tag` plus random bytes, so that a search of raw
 * storage or of error text for it cannot hit anything else.
 */
export function uniqueSecretsToken(tag: string | number, init: OAuthTokenInit): OAuthToken {
  const unique = `${tag}${randomBytes(6).toString('hex')}`;
  return new OAuthToken({
    clientSecret: `client-secret-${unique}`,
    userSignature: `user${unique}@example.com`,
    refreshToken: `1000.refresh${unique}.f00d`,
    accessToken: `1000.access${unique}.beef`,
    grantToken: `1000.grant${unique}.cafe`,
    expiresAt: 1_800_000_000_000,
    ...init,
  });
}
