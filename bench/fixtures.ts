import { OAuthToken } from 'zoho-token-store';

/** The client every store benchmark's tokens belong to. */
export const BENCH_CLIENT = {
  clientId: '1000.BENCHCLIENT0000000000000000000',
  clientSecret: 'bench-secret-0123456789abcdef0123456789',
};

/** Token number `i`: realistic sizes, every field set, unique user, grant, refresh and access token. */
export function benchToken(i: number, client: { clientId: string; clientSecret: string } = BENCH_CLIENT): OAuthToken {
  const hex = i.toString(16).padStart(32, '0');
  return new OAuthToken({
    ...client,
    userSignature: `user${i}@example.com`,
    refreshToken: `1000.${hex}.refresh`,
    accessToken: `1000.${hex}.access`,
    grantToken: `1000.${hex}.grant`,
    expiresAt: 1_767_225_600_000 + i,
    redirectUrl: 'https://app.example.com/oauth/callback',
    apiDomain: 'https://www.zohoapis.com',
    accountsUrl: 'https://accounts.zoho.com',
  });
}
