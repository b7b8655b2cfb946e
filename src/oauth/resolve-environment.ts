import { ErrorCode, ZohoTokenError } from '../errors.js';
import type { DataCenterName, Environment } from './environment.js';
import { DataCenter } from './environment.js';

/** The environments Zoho hosts in every data center. */
export type ZohoEnvironmentKind = 'production' | 'sandbox' | 'developer';

const KINDS: readonly ZohoEnvironmentKind[] = ['production', 'sandbox', 'developer'];

function requireKind(kind: unknown): ZohoEnvironmentKind {
  if (!KINDS.includes(kind as ZohoEnvironmentKind)) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `kind must be one of ${KINDS.join(', ')}`, { field: 'kind' });
  }
  return kind as ZohoEnvironmentKind;
}

function dataCenterByName(name: unknown): (typeof DataCenter)[DataCenterName] | undefined {
  if (typeof name !== 'string') return undefined;
  const key = name.trim().toUpperCase();
  return Object.hasOwn(DataCenter, key) ? DataCenter[key as DataCenterName] : undefined;
}

/**
 * The environment of a data center by name, case-insensitive: `environmentFor('EU', 'sandbox')`.
 *
 * @param dataCenter - A {@link DataCenterName}, any case.
 * @param kind - Which of the data center's environments; `'production'` when omitted.
 * @throws {@link ZohoTokenError} `INVALID_ARGUMENT` for an unknown data center (`field`
 *   `dataCenter`) or kind (`field` `kind`).
 */
export function environmentFor(
  dataCenter: DataCenterName | string,
  kind: ZohoEnvironmentKind = 'production',
): Environment {
  const dc = dataCenterByName(dataCenter);
  if (!dc) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      `Unknown data center ${JSON.stringify(String(dataCenter))}; expected one of ${Object.keys(DataCenter).join(', ')}`,
      {
        field: 'dataCenter',
      },
    );
  }
  return dc[requireKind(kind)];
}

/**
 * The environment for the `location` Zoho returns after consent (`us`, `eu`, …). When the callback's
 * `accounts-server` is given it must be that data center's: the client secret is sent there next,
 * so an unexpected host is refused rather than trusted.
 *
 * @param location - The callback's `location`, any case.
 * @param kind - Which of the data center's environments; `'production'` when omitted.
 * @param accountsServer - The callback's `accounts-server`; `null` (the default) skips the check.
 * @throws {@link ZohoTokenError} `INVALID_ARGUMENT` for an unknown location or kind, or an
 *   `accountsServer` that is not the location's (`field` `accountsServer`).
 */
export function environmentFromLocation(
  location: string,
  kind: ZohoEnvironmentKind = 'production',
  accountsServer: string | null = null,
): Environment {
  const dc = dataCenterByName(location);
  if (!dc) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `Unknown Zoho location ${JSON.stringify(String(location))}`, {
      field: 'location',
    });
  }
  const env = dc[requireKind(kind)];
  if (accountsServer !== null && accountsServer.replace(/\/+$/, '').toLowerCase() !== env.accountsUrl) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      `accounts-server does not belong to location ${env.location}`,
      {
        field: 'accountsServer',
      },
    );
  }
  return env;
}

/** Input of {@link customEnvironment}. */
export interface CustomEnvironmentInput {
  /** Accounts server base URL (http or https; a path prefix is allowed; trailing slashes are dropped). */
  accountsUrl: string;
  /** API base URL (same rules). */
  apiDomain: string;
  /**
   * Stable identifier of the environment.
   * @default 'custom'
   */
  name?: string;
  /**
   * Location reported for it.
   * @default 'custom'
   */
  location?: string;
}

/**
 * An environment outside Zoho's table (the local emulator, a proxy), validated and frozen; its
 * `kind` is `custom`.
 *
 * @throws {@link ZohoTokenError} `INVALID_ARGUMENT` (with `field`) for an empty `name` or
 *   `location`, or a URL that is not http(s) or carries credentials, a query or a fragment.
 */
export function customEnvironment(input: CustomEnvironmentInput): Environment {
  const name = input.name ?? 'custom';
  const location = input.location ?? 'custom';
  for (const [field, value] of [
    ['name', name],
    ['location', location],
  ] as const) {
    if (typeof value !== 'string' || value.trim().length === 0) {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `${field} must be a non-empty string`, { field });
    }
  }
  return Object.freeze({
    name,
    location,
    kind: 'custom',
    accountsUrl: baseUrl('accountsUrl', input.accountsUrl),
    apiDomain: baseUrl('apiDomain', input.apiDomain),
  });
}

/** http(s), no credentials, query or fragment (paths are appended to it); no trailing slash. */
function baseUrl(field: string, value: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (
    !url ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username ||
    url.password ||
    url.search ||
    url.hash
  ) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      `${field} must be an http(s) URL without credentials, query or fragment`,
      {
        field,
      },
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
