import { ErrorCode, ZohoTokenError } from '../errors.js';
import { DataCenter, type Environment } from '../oauth/environment.js';

/**
 * Where credentials may go. A stored row's `accounts_url` and `api_domain` are data anyone with
 * write access to the database can change, so they are never trusted for being stored: the client
 * secret, a refresh token or an access token is sent only to
 * - an https accounts server or API domain of Zoho's eight data centers (production, sandbox, developer),
 * - an endpoint of an environment the application configured (`environment`, `environments`),
 * - an origin the application listed in `trustedEndpoints`.
 * Comparison is by origin (scheme, host, port): a path on a trusted origin stays on that server.
 */
export class TrustedEndpoints {
  readonly #origins: ReadonlySet<string>;
  /** Raw URLs already found trusted: the check before each API call is then one Set lookup. */
  readonly #trustedUrls = new Set<string>();

  constructor(configured: readonly Environment[], extraOrigins: readonly string[] = []) {
    const origins = new Set<string>();
    for (const dc of Object.values(DataCenter)) {
      for (const env of [dc.production, dc.sandbox, dc.developer]) {
        origins.add(originOf(env.accountsUrl)!);
        origins.add(originOf(env.apiDomain)!);
      }
    }
    for (const env of configured) {
      for (const url of [env.accountsUrl, env.apiDomain]) {
        const origin = originOf(url);
        if (origin !== undefined) origins.add(origin);
      }
    }
    for (const url of extraOrigins) {
      const origin = originOf(url);
      if (origin !== undefined) origins.add(origin);
    }
    this.#origins = origins;
  }

  /** Whether credentials may be sent to `url` (a base URL to which a path is appended). */
  trusts(url: unknown): boolean {
    if (typeof url !== 'string') return false;
    if (this.#trustedUrls.has(url)) return true;
    const origin = originOf(url);
    if (origin === undefined || !this.#origins.has(origin)) return false;
    if (this.#trustedUrls.size >= 1_000) this.#trustedUrls.clear();
    this.#trustedUrls.add(url);
    return true;
  }

  /**
   * Throws UNTRUSTED_ENDPOINT (nothing is sent) unless {@link trusts}. `what` says what would have
   * been sent (`the refresh token`), `whose` which token; the message names the origin, never a secret.
   */
  check(url: unknown, what: string, whose: string): void {
    if (this.trusts(url)) return;
    throw untrustedEndpoint(url, what, whose);
  }
}

export function untrustedEndpoint(url: unknown, what: string, whose: string): ZohoTokenError {
  return new ZohoTokenError(
    ErrorCode.UNTRUSTED_ENDPOINT,
    `Not sending ${what} of ${whose} to ${describeOrigin(url)}: it is neither a Zoho data center's server nor an endpoint this application configured ` +
      '(environment, environments or trustedEndpoints). A stored accounts_url/api_domain is never trusted on its own: the row may have been tampered with',
    { field: 'endpoint' },
  );
}

/**
 * The origin a path appended to `url` would be sent to (as `accountsEndpoint` and ZohoClient
 * append one), or undefined for anything that is not a plain http(s) URL without credentials.
 */
export function originOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(`${url.replace(/\/+$/, '')}/`);
  } catch {
    return undefined;
  }
  if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.username || parsed.password)
    return undefined;
  return parsed.origin.toLowerCase();
}

/** The origin for messages and logs (a URL's path or query could carry anything). */
export function describeOrigin(url: unknown): string {
  const origin = originOf(url);
  if (origin !== undefined) return origin;
  return typeof url === 'string' ? 'a URL that is not a plain http(s) URL' : 'no URL';
}

/**
 * `raw` as a URL when it is a plain http(s) URL: no credentials, query or fragment (the one rule for
 * every configured endpoint: trusted origins, service hosts). Undefined otherwise.
 */
export function plainHttpUrl(raw: unknown): URL | undefined {
  let url: URL;
  try {
    if (typeof raw !== 'string') return undefined;
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) return undefined;
  return url.search || url.hash ? undefined : url;
}

/** Validates the `trustedEndpoints` option: http(s) origins only (no credentials, path, query or fragment). */
export function parseTrustedOrigins(value: unknown, field = 'trustedEndpoints'): readonly string[] {
  if (value === undefined) return Object.freeze([]);
  const invalid = (message: string): ZohoTokenError =>
    new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `ZohoAuth options.${field} ${message}`, { field });
  if (!Array.isArray(value)) throw invalid('must be an array of origins');
  return Object.freeze(
    value.map((entry: unknown, i) => {
      const url = plainHttpUrl(entry);
      if (url === undefined || url.pathname !== '/') {
        throw new ZohoTokenError(
          ErrorCode.INVALID_ARGUMENT,
          `ZohoAuth options.${field}[${i}] must be an http(s) origin such as https://zoho-proxy.example.com`,
          {
            field: `${field}[${i}]`,
          },
        );
      }
      return url.origin.toLowerCase();
    }),
  );
}
