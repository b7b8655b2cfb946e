/**
 * The column layout a table must have to be read by the official Zoho SDKs, written out here and
 * not taken from the source, so the stores' tests check the layout against an independent record:
 * the official ten columns in their order (the SDKs read rows by position), then ours.
 */
export const OFFICIAL_LAYOUT = [
  'id',
  'user_name',
  'client_id',
  'client_secret',
  'refresh_token',
  'access_token',
  'grant_token',
  'expiry_time',
  'redirect_url',
  'api_domain',
  'accounts_url',
] as const;

/** Row `i` as an official SDK writes it into that table: the ten official columns, expiry as text, no grant token. */
export function sdkRow(i: number, redirectUrl: string | null = 'https://cb'): (string | null)[] {
  return [
    String(i),
    `user${i}@x.com`,
    'cid',
    'csecret',
    `r${i}`,
    `a${i}`,
    null,
    String(1_700_000_000_000 + i),
    redirectUrl,
    'https://www.zohoapis.com',
  ];
}
