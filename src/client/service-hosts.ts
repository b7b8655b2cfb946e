import { ErrorCode, ZohoTokenError } from '../errors.js';
import { DataCenter } from '../oauth/environment.js';
import { originOf } from '../auth/trusted-endpoints.js';

/** A Zoho product {@link ZohoClient} knows the API hosts of: `'desk'`, `'projects'`, `'books'`… */
export type ZohoService =
  | 'crm'
  | 'bigin'
  | 'books'
  | 'billing'
  | 'creator'
  | 'expense'
  | 'inventory'
  | 'invoice'
  | 'workdrive'
  | 'analytics'
  | 'assist'
  | 'campaigns'
  | 'cliq'
  | 'commerce'
  | 'contracts'
  | 'desk'
  | 'lens'
  | 'mail'
  | 'meeting'
  | 'people'
  | 'projects'
  | 'recruit'
  | 'sign'
  | 'webinar';

/**
 * Where each Zoho product's API lives in each data center: the one table of them. Products are
 * reached either on their own host of the data center's Zoho domain (`desk.zoho.eu`,
 * `projectsapi.zohocloud.ca`) or under a path of its `www.zohoapis` API domain
 * (`www.zohoapis.eu/books`), as each product's "multi DC" documentation page says.
 */
const SERVICES: Readonly<Record<ZohoService, { readonly apis: string } | { readonly host: string }>> = {
  /** Zoho CRM: the token's own API domain. */
  crm: { apis: '' },
  /** Zoho Bigin: `www.zohoapis.<dc>/bigin`. */
  bigin: { apis: '/bigin' },
  /** Zoho Books: `www.zohoapis.<dc>/books`. */
  books: { apis: '/books' },
  /** Zoho Billing (Subscriptions): `www.zohoapis.<dc>/billing`. */
  billing: { apis: '/billing' },
  /** Zoho Creator: `www.zohoapis.<dc>/creator`. */
  creator: { apis: '/creator' },
  /** Zoho Expense: `www.zohoapis.<dc>/expense`. */
  expense: { apis: '/expense' },
  /** Zoho Inventory: `www.zohoapis.<dc>/inventory`. */
  inventory: { apis: '/inventory' },
  /** Zoho Invoice: `www.zohoapis.<dc>/invoice`. */
  invoice: { apis: '/invoice' },
  /** Zoho WorkDrive: `www.zohoapis.<dc>/workdrive`. */
  workdrive: { apis: '/workdrive' },
  /** Zoho Analytics: `analyticsapi.zoho.<dc>`. */
  analytics: { host: 'analyticsapi' },
  /** Zoho Assist: `assist.zoho.<dc>`. */
  assist: { host: 'assist' },
  /** Zoho Campaigns: `campaigns.zoho.<dc>`. */
  campaigns: { host: 'campaigns' },
  /** Zoho Cliq: `cliq.zoho.<dc>`. */
  cliq: { host: 'cliq' },
  /** Zoho Commerce: `commerce.zoho.<dc>`. */
  commerce: { host: 'commerce' },
  /** Zoho Contracts: `contracts.zoho.<dc>`. */
  contracts: { host: 'contracts' },
  /** Zoho Desk: `desk.zoho.<dc>`. */
  desk: { host: 'desk' },
  /** Zoho Lens: `lens.zoho.<dc>`. */
  lens: { host: 'lens' },
  /** Zoho Mail: `mail.zoho.<dc>`. */
  mail: { host: 'mail' },
  /** Zoho Meeting: `meeting.zoho.<dc>`. */
  meeting: { host: 'meeting' },
  /** Zoho People: `people.zoho.<dc>`. */
  people: { host: 'people' },
  /** Zoho Projects: `projectsapi.zoho.<dc>`. */
  projects: { host: 'projectsapi' },
  /** Zoho Recruit: `recruit.zoho.<dc>`. */
  recruit: { host: 'recruit' },
  /** Zoho Sign: `sign.zoho.<dc>`. */
  sign: { host: 'sign' },
  /** Zoho Webinar: `webinar.zoho.<dc>`. */
  webinar: { host: 'webinar' },
};

/** The names of every Zoho product in the built-in table. */
export const ZOHO_SERVICES: readonly ZohoService[] = Object.freeze(Object.keys(SERVICES) as ZohoService[]);

/** Each data center's Zoho domain (product hosts) and API domain suffix, by location. */
const DOMAINS: Readonly<Record<string, { readonly zoho: string; readonly apis: string }>> = {
  us: { zoho: 'zoho.com', apis: 'zohoapis.com' },
  eu: { zoho: 'zoho.eu', apis: 'zohoapis.eu' },
  in: { zoho: 'zoho.in', apis: 'zohoapis.in' },
  cn: { zoho: 'zoho.com.cn', apis: 'zohoapis.com.cn' },
  au: { zoho: 'zoho.com.au', apis: 'zohoapis.com.au' },
  jp: { zoho: 'zoho.jp', apis: 'zohoapis.jp' },
  ca: { zoho: 'zohocloud.ca', apis: 'zohoapis.ca' },
  sa: { zoho: 'zoho.sa', apis: 'zohoapis.sa' },
};

/** Every Zoho API domain origin (production, sandbox, developer) → its data center's location. */
const LOCATION_OF_API_ORIGIN: ReadonlyMap<string, string> = new Map(
  Object.values(DataCenter).flatMap((dc) =>
    [dc.production, dc.sandbox, dc.developer].map((env) => [originOf(env.apiDomain)!, env.location] as const),
  ),
);

/** The data center location (`eu`, …) of a Zoho API domain, or undefined for any other URL. */
export function dataCenterOfApiDomain(apiDomain: string): string | undefined {
  const origin = originOf(apiDomain);
  return origin === undefined ? undefined : LOCATION_OF_API_ORIGIN.get(origin);
}

/**
 * The base URL of `service`'s API in the data center at `location` (`'eu'`, `'ca'`…), to which a
 * request path is appended: `zohoServiceUrl('desk', 'eu')` is `https://desk.zoho.eu`,
 * `zohoServiceUrl('books', 'eu')` is `https://www.zohoapis.eu/books`.
 *
 * @throws {@link ZohoTokenError} `INVALID_ARGUMENT` for a service or location not in the table
 *   (field `service` or `location`).
 */
export function zohoServiceUrl(service: string, location: string): string {
  const entry = Object.hasOwn(SERVICES, service) ? SERVICES[service as ZohoService] : undefined;
  if (entry === undefined) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      `no Zoho service "${String(service).slice(0, 40)}" is known (known: ${ZOHO_SERVICES.join(', ')}); configure its host in ZohoClient options.services`,
      { field: 'service' },
    );
  }
  const domains = Object.hasOwn(DOMAINS, location) ? DOMAINS[location] : undefined;
  if (domains === undefined) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `no Zoho data center "${String(location).slice(0, 20)}"`, {
      field: 'location',
    });
  }
  return 'apis' in entry ? `https://www.${domains.apis}${entry.apis}` : `https://${entry.host}.${domains.zoho}`;
}
