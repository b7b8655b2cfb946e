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

export type EnvironmentKind = 'production' | 'sandbox' | 'developer' | 'custom';

interface DataCenterEnvironments {
  readonly production: Environment;
  readonly sandbox: Environment;
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
  US: dataCenter('us', 'https://accounts.zoho.com', 'com'),
  EU: dataCenter('eu', 'https://accounts.zoho.eu', 'eu'),
  IN: dataCenter('in', 'https://accounts.zoho.in', 'in'),
  CN: dataCenter('cn', 'https://accounts.zoho.com.cn', 'com.cn'),
  AU: dataCenter('au', 'https://accounts.zoho.com.au', 'com.au'),
  JP: dataCenter('jp', 'https://accounts.zoho.jp', 'jp'),
  CA: dataCenter('ca', 'https://accounts.zohocloud.ca', 'ca'),
  SA: dataCenter('sa', 'https://accounts.zoho.sa', 'sa'),
});

export type DataCenterName = keyof typeof DataCenter;
