import { ErrorCode, ZohoTokenError } from '../errors.js';
import { DataCenter, type Environment } from '../oauth/environment.js';
import { environmentFromLocation } from '../oauth/resolve-environment.js';

/**
 * A token is bound to the data center (accounts server) and environment it was issued in. These
 * rules pick where a code is exchanged and which API domain a token without a stored one gets;
 * nothing here ever lets a token response move a stored token elsewhere.
 */
export interface KnownEnvironments {
  /** The environment the ZohoAuth was configured with. */
  readonly primary: Environment;
  /** Other environments a callback may select (custom setups such as the emulator's other DCs). */
  readonly extra: readonly Environment[];
}

const same = (a: string, b: string): boolean =>
  a.replace(/\/+$/, '').toLowerCase() === b.replace(/\/+$/, '').toLowerCase();

/** The known environment whose accounts server is `accountsUrl`: configured ones first, then Zoho's table (same kind). */
export function environmentOfAccountsUrl(known: KnownEnvironments, accountsUrl: string): Environment | undefined {
  const configured = [known.primary, ...known.extra].find((env) => same(env.accountsUrl, accountsUrl));
  if (configured !== undefined || known.primary.kind === 'custom') return configured;
  const kind = known.primary.kind;
  return Object.values(DataCenter)
    .map((dc) => dc[kind])
    .find((env) => same(env.accountsUrl, accountsUrl));
}

/**
 * Where to exchange a code. Without a callback location/accounts server: the primary environment.
 * With them (web flow): the known environment of that `location`, whose accounts server must equal
 * the callback's `accounts-server`; for Zoho's own kinds `environmentFromLocation` checks the pair.
 * Anything else is refused (INVALID_ARGUMENT) before the client secret is sent anywhere.
 */
export function exchangeEnvironment(
  known: KnownEnvironments,
  callback: { location?: string | null; accountsServer?: string | null },
): Environment {
  const location = callback.location ?? null;
  const accountsServer = callback.accountsServer ?? null;
  if (location === null && accountsServer === null) return known.primary;
  const candidates = [known.primary, ...known.extra];
  if (location === null) {
    const env = environmentOfAccountsUrl(known, accountsServer!);
    if (env !== undefined) return env;
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      'accounts-server is not a known accounts server of this client',
      {
        field: 'accountsServer',
      },
    );
  }
  if (accountsServer !== null && known.primary.kind === 'custom') {
    // A custom setup (emulator, proxy) is identified by its accounts server; its location label is free-form.
    const byServer = candidates.find((env) => same(env.accountsUrl, accountsServer));
    if (byServer !== undefined) return byServer;
  }
  const byLocation = candidates.filter((env) => env.location.toLowerCase() === location.toLowerCase());
  const match = byLocation.find((env) => accountsServer === null || same(env.accountsUrl, accountsServer));
  if (match !== undefined) return match;
  if (known.primary.kind !== 'custom') return environmentFromLocation(location, known.primary.kind, accountsServer);
  throw new ZohoTokenError(
    ErrorCode.INVALID_ARGUMENT,
    byLocation.length > 0
      ? `accounts-server does not belong to location ${JSON.stringify(location)}`
      : `Unknown location ${JSON.stringify(location)}: pass its environment in options.environments`,
    { field: byLocation.length > 0 ? 'accountsServer' : 'location' },
  );
}

/**
 * The API domain for a token that has none stored: that of the environment its accounts server
 * belongs to (so a sandbox token stays on the sandbox domain whatever Zoho answers), else the
 * token response's `api_domain`, else the primary environment's.
 */
export function apiDomainFor(
  known: KnownEnvironments,
  accountsUrl: string | null | undefined,
  responseApiDomain: string | null,
): string {
  const env = accountsUrl ? environmentOfAccountsUrl(known, accountsUrl) : known.primary;
  return env?.apiDomain ?? responseApiDomain ?? known.primary.apiDomain;
}

/** The known environment whose API domain is `apiDomain`: configured ones first, then Zoho's table. */
function environmentOfApiDomain(known: KnownEnvironments, apiDomain: string): Environment | undefined {
  const configured = [known.primary, ...known.extra].find((env) => same(env.apiDomain, apiDomain));
  if (configured !== undefined) return configured;
  for (const dc of Object.values(DataCenter)) {
    for (const env of [dc.production, dc.sandbox, dc.developer]) if (same(env.apiDomain, apiDomain)) return env;
  }
  return undefined;
}

/**
 * The accounts server a stored token belongs to: its own `accountsUrl`; for a token without one
 * (rows from the official SDKs' formats), the data center its `apiDomain` names; only when neither
 * tells, the configured environment's. A token is never refreshed or revoked at a guess that its
 * own API domain contradicts.
 */
export function accountsUrlOf(
  known: KnownEnvironments,
  token: { accountsUrl?: string | null; apiDomain?: string | null },
): string {
  if (token.accountsUrl) return token.accountsUrl;
  const byApiDomain = token.apiDomain ? environmentOfApiDomain(known, token.apiDomain) : undefined;
  return byApiDomain?.accountsUrl ?? known.primary.accountsUrl;
}

/**
 * Whether the row itself names its data center (an `accountsUrl`, or an `apiDomain` of a known
 * environment). Only then is a rejection by that accounts server proof that the refresh token is
 * dead; an unbound row was tried at a guess (the configured environment).
 */
export function isBound(
  known: KnownEnvironments,
  token: { accountsUrl?: string | null; apiDomain?: string | null },
): boolean {
  if (token.accountsUrl) return true;
  return !!token.apiDomain && environmentOfApiDomain(known, token.apiDomain) !== undefined;
}

/**
 * The fields that bind `token` to `env`, for `ZohoAuth.bind` and `zoho-tokens bind`. A row already
 * bound to another accounts server is refused (INVALID_ARGUMENT): rebinding it would send its
 * refresh token to a data center that would reject it, and that rejection erases it.
 */
export function bindingOf(
  known: KnownEnvironments,
  token: { id?: string | null; accountsUrl?: string | null; apiDomain?: string | null },
  env: Environment,
): { accountsUrl: string; apiDomain: string } {
  if (isBound(known, token)) {
    const current = accountsUrlOf(known, token);
    if (!same(current, env.accountsUrl)) {
      throw new ZohoTokenError(
        ErrorCode.INVALID_ARGUMENT,
        `Token id ${token.id ?? '?'} is already bound to ${current}, not ${env.accountsUrl}: delete it and log the user in again to move it`,
        { field: 'environment' },
      );
    }
  }
  return {
    accountsUrl: env.accountsUrl,
    apiDomain: token.apiDomain && isBound(known, token) ? token.apiDomain : env.apiDomain,
  };
}
