import type { EmulatorClock } from './clock.js';
import { createIdSequence } from './ids.js';

export interface CrmUser {
  readonly id: string;
  readonly email: string;
  readonly full_name: string;
  readonly first_name: string;
  readonly last_name: string;
  readonly status: 'active';
  readonly confirm: true;
  readonly role: { readonly name: string; readonly id: string };
  readonly profile: { readonly name: string; readonly id: string };
  readonly time_zone: string;
  readonly locale: string;
}

export type CrmRecord = Record<string, unknown> & { readonly id: string };

/**
 * One data center's CRM org: its users (anyone who got a token there), the org itself and the
 * Leads module. Each data center has its own store, as each Zoho DC holds its own orgs.
 */
export class CrmStore {
  readonly #nextId: () => string;
  readonly #users = new Map<string, CrmUser>();
  readonly #leads = new Map<string, CrmRecord>();
  readonly org: Readonly<Record<string, unknown>>;
  readonly #roleId: string;
  readonly #profileId: string;

  constructor(
    readonly dc: string,
    companyName: string,
    private readonly clock: EmulatorClock,
  ) {
    this.#nextId = createIdSequence();
    this.#roleId = this.#nextId();
    this.#profileId = this.#nextId();
    this.org = Object.freeze({
      id: this.#nextId(),
      company_name: companyName,
      domain_name: `org${dc}`,
      primary_email: `admin@${dc}.example.com`,
      country_code: dc.toUpperCase(),
      time_zone: 'GMT',
      currency: 'USD',
      currency_symbol: '$',
      iso_code: 'USD',
      zgid: this.#nextId(),
      type: 'production',
      license_details: { paid: true, paid_type: 'enterprise', users_license_purchased: 10 },
    });
  }

  /** The CRM user behind an email, created on first sight. */
  user(email: string): CrmUser {
    const key = email.toLowerCase();
    let user = this.#users.get(key);
    if (user === undefined) {
      const local = email.split('@')[0] ?? email;
      const words = local
        .split(/[._-]+/)
        .filter(Boolean)
        .map((w) => w[0]!.toUpperCase() + w.slice(1));
      const first = words.length > 1 ? words.slice(0, -1).join(' ') : '';
      const last = words.at(-1) ?? local;
      user = Object.freeze({
        id: this.#nextId(),
        email,
        full_name: [first, last].filter(Boolean).join(' '),
        first_name: first,
        last_name: last,
        status: 'active',
        confirm: true,
        role: { name: 'CEO', id: this.#roleId },
        profile: { name: 'Administrator', id: this.#profileId },
        time_zone: 'GMT',
        locale: 'en_US',
      });
      this.#users.set(key, user);
    }
    return user;
  }

  users(): CrmUser[] {
    return [...this.#users.values()];
  }

  /** Adds a lead owned by and created by `owner`; returns the stored record. */
  addLead(fields: Record<string, unknown>, owner: CrmUser): CrmRecord {
    const time = zohoTime(this.clock.now());
    const by = { name: owner.full_name, id: owner.id, email: owner.email };
    const record: CrmRecord = {
      ...fields,
      id: this.#nextId(),
      Owner: by,
      Created_By: by,
      Modified_By: by,
      Created_Time: time,
      Modified_Time: time,
    };
    this.#leads.set(record.id, record);
    return record;
  }

  leads(): CrmRecord[] {
    return [...this.#leads.values()];
  }

  lead(id: string): CrmRecord | undefined {
    return this.#leads.get(id);
  }
}

/** Zoho's timestamp format: ISO 8601 with an explicit offset and no milliseconds. */
export function zohoTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}
