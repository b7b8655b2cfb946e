import { isZohoTokenError } from '../errors.js';
import { DataCenter, type Environment } from '../oauth/environment.js';
import { customEnvironment, environmentFor, type ZohoEnvironmentKind } from '../oauth/resolve-environment.js';
import type { OAuthToken } from '../token/oauth-token.js';
import { usageError } from './cli-error.js';

export const DC_FORMS =
  'US, EU, IN, CN, AU, JP, CA, SA, optionally :sandbox or :developer (EU:sandbox), or custom:<accountsUrl>[,<apiDomain>]';

/**
 * `--dc`: `EU`, `eu:sandbox`, or `custom:<accountsUrl>,<apiDomain>` (an emulator, a proxy; one URL
 * serves as both when the API domain is left out). The library validates; errors become usage errors.
 */
export function parseDataCenter(value: string): Environment {
  try {
    const custom = /^custom:(.+)$/i.exec(value.trim());
    if (custom) {
      const [accountsUrl = '', apiDomain = accountsUrl, ...rest] = custom[1]!.split(',').map((s) => s.trim());
      if (rest.length > 0)
        throw usageError(`--dc custom: takes <accountsUrl>[,<apiDomain>], got ${rest.length + 2} values`);
      return customEnvironment({ accountsUrl, apiDomain });
    }
    const [name = '', kind = 'production', ...rest] = value.trim().split(':');
    if (rest.length > 0) throw usageError(`--dc takes <DC>[:<kind>]; forms: ${DC_FORMS}`);
    return environmentFor(name, kind.toLowerCase() as ZohoEnvironmentKind);
  } catch (error) {
    if (isZohoTokenError(error))
      throw usageError(`invalid --dc ${JSON.stringify(value)}: ${error.message} (forms: ${DC_FORMS})`);
    throw error;
  }
}

const sameUrl = (a: string, b: string): boolean =>
  a.replace(/\/+$/, '').toLowerCase() === b.replace(/\/+$/, '').toLowerCase();

/** The Zoho environment whose accounts server (and API domain, when stored) the token names. */
function zohoEnvironmentOf(token: OAuthToken): Environment | undefined {
  const { accountsUrl, apiDomain } = token;
  for (const dc of Object.values(DataCenter)) {
    for (const env of [dc.production, dc.sandbox, dc.developer]) {
      const accountsOk = accountsUrl ? sameUrl(env.accountsUrl, accountsUrl) : true;
      const apiOk = apiDomain ? sameUrl(env.apiDomain, apiDomain) : env.kind === 'production';
      if (accountsOk && apiOk && (accountsUrl || apiDomain)) return env;
    }
  }
  return undefined;
}

/**
 * The environment to refresh or revoke a stored token in: its own when the row names one of Zoho's
 * (accounts URL or API domain), else the operator's `--dc`. A stored non-Zoho accounts URL is never
 * trusted because it is stored (anyone who can write the table could point it at their server):
 * ZohoAuth refuses it (UNTRUSTED_ENDPOINT) unless the operator names it with `--dc custom:<url>`.
 */
export function environmentOfToken(token: OAuthToken, fallback: () => Environment): Environment {
  return zohoEnvironmentOf(token) ?? fallback();
}

/** A short label for tables: `eu-production`, `custom (127.0.0.1:8080)`, or `-` when unknown. */
export function describeEnvironment(token: OAuthToken): string {
  const known = zohoEnvironmentOf(token);
  if (known) return known.name;
  const url = token.accountsUrl ?? token.apiDomain;
  if (!url) return '-';
  try {
    return `custom (${new URL(url).host})`;
  } catch {
    return 'custom';
  }
}
