/**
 * Where a token lives: one Zoho data center's accounts server plus one API domain (production,
 * sandbox or developer). Plain JSON-serializable data, so it can be handed to another process.
 * A token is bound to the environment it was issued in and is never refreshed anywhere else.
 */
export interface Environment {
  /** Stable identifier, e.g. `us-production`, `eu-sandbox`, or a custom name. */
  readonly name: string;
  /** The data center's `location` as Zoho reports it after consent (`us`, `eu`, …). */
  readonly location: string;
  /** `production`, `sandbox`, `developer`, or `custom` (an emulator, a proxy). */
  readonly kind: EnvironmentKind;
  /** Accounts server base URL, no trailing slash: `https://accounts.zoho.eu`. */
  readonly accountsUrl: string;
  /** API base URL, no trailing slash: `https://www.zohoapis.eu`. */
  readonly apiDomain: string;
}

/** What an {@link Environment} is: one of Zoho's three per data center, or `custom`. */
export type EnvironmentKind = 'production' | 'sandbox' | 'developer' | 'custom';

/** One data center's three environments; they share its accounts server and differ in API domain. */
export interface DataCenterEnvironments {
  /** Live data: API domain `https://www.zohoapis.<suffix>`. */
  readonly production: Environment;
  /** A CRM sandbox: API domain `https://sandbox.zohoapis.<suffix>`. */
  readonly sandbox: Environment;
  /** A developer edition: API domain `https://developer.zohoapis.<suffix>`. */
  readonly developer: Environment;
}

function dataCenter(location: string, accountsUrl: string, apiSuffix: string): DataCenterEnvironments {
  const env = (kind: 'production' | 'sandbox' | 'developer', host: string): Environment =>
    Object.freeze({
      name: `${location}-${kind}`,
      location,
      kind,
      accountsUrl,
      apiDomain: `https://${host}.zohoapis.${apiSuffix}`,
    });
  return Object.freeze({
    production: env('production', 'www'),
    sandbox: env('sandbox', 'sandbox'),
    developer: env('developer', 'developer'),
  });
}

/** The eight Zoho data centers, each with its production, sandbox and developer environment. */
export const DataCenter = Object.freeze({
  /** United States: `https://accounts.zoho.com`, `https://www.zohoapis.com`. */
  US: dataCenter('us', 'https://accounts.zoho.com', 'com'),
  /** Europe: `https://accounts.zoho.eu`, `https://www.zohoapis.eu`. */
  EU: dataCenter('eu', 'https://accounts.zoho.eu', 'eu'),
  /** India: `https://accounts.zoho.in`, `https://www.zohoapis.in`. */
  IN: dataCenter('in', 'https://accounts.zoho.in', 'in'),
  /** China: `https://accounts.zoho.com.cn`, `https://www.zohoapis.com.cn`. */
  CN: dataCenter('cn', 'https://accounts.zoho.com.cn', 'com.cn'),
  /** Australia: `https://accounts.zoho.com.au`, `https://www.zohoapis.com.au`. */
  AU: dataCenter('au', 'https://accounts.zoho.com.au', 'com.au'),
  /** Japan: `https://accounts.zoho.jp`, `https://www.zohoapis.jp`. */
  JP: dataCenter('jp', 'https://accounts.zoho.jp', 'jp'),
  /** Canada: `https://accounts.zohocloud.ca`, `https://www.zohoapis.ca`. */
  CA: dataCenter('ca', 'https://accounts.zohocloud.ca', 'ca'),
  /** Saudi Arabia: `https://accounts.zoho.sa`, `https://www.zohoapis.sa`. */
  SA: dataCenter('sa', 'https://accounts.zoho.sa', 'sa'),
});

/** A key of {@link DataCenter}: `'US' | 'EU' | …`. */
export type DataCenterName = keyof typeof DataCenter;
