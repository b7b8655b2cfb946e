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
 * records of its modules (crm-metadata.ts). Each data center has its own store, as each Zoho DC holds its own orgs.
 */
export class CrmStore {
  readonly #nextId: () => string;
  readonly #users = new Map<string, CrmUser>();
  /** Records by module API name, then id (insertion order: oldest first). */
  readonly #records = new Map<string, Map<string, CrmRecord>>();
  readonly org: Readonly<Record<string, unknown>>;
  readonly #roleId: string;
  readonly #profileId: string;
  /** When the org's modules and fields were last changed: its creation (they never change). */
  readonly metadataTime: number;

  constructor(
    readonly dc: string,
    companyName: string,
    private readonly clock: EmulatorClock,
  ) {
    this.#nextId = createIdSequence();
    this.metadataTime = clock.now();
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

  /** A user of this org by id. */
  userById(id: string): CrmUser | undefined {
    for (const user of this.#users.values()) if (user.id === id) return user;
    return undefined;
  }

  /** Stores a new record of `module`, owned by `owner` unless `fields` name an Owner; returns it. */
  insert(module: string, fields: Record<string, unknown>, by: CrmUser): CrmRecord {
    const time = zohoTime(this.clock.now());
    const who = userRef(by);
    const record: CrmRecord = {
      Owner: who,
      ...fields,
      id: this.#nextId(),
      Created_By: who,
      Modified_By: who,
      Created_Time: time,
      Modified_Time: time,
    };
    this.#module(module).set(record.id, record);
    return record;
  }

  /** Merges `fields` into a stored record (a `null` clears a field); undefined when there is none. */
  update(module: string, id: string, fields: Record<string, unknown>, by: CrmUser): CrmRecord | undefined {
    const records = this.#module(module);
    const old = records.get(id);
    if (old === undefined) return undefined;
    const merged: Record<string, unknown> = { ...old };
    for (const [key, value] of Object.entries(fields)) {
      if (value === null) delete merged[key];
      else merged[key] = value;
    }
    const record: CrmRecord = {
      ...merged,
      id,
      Modified_By: userRef(by),
      Modified_Time: zohoTime(this.clock.now()),
    };
    records.set(id, record);
    return record;
  }

  /** Removes a record; false when there is none. */
  remove(module: string, id: string): boolean {
    return this.#module(module).delete(id);
  }

  /** The records of a module, oldest first. */
  records(module: string): CrmRecord[] {
    return [...this.#module(module).values()];
  }

  record(module: string, id: string): CrmRecord | undefined {
    return this.#module(module).get(id);
  }

  #module(module: string): Map<string, CrmRecord> {
    let records = this.#records.get(module);
    if (records === undefined) this.#records.set(module, (records = new Map()));
    return records;
  }
}

/** How records refer to a user (`Owner`, `Created_By`, …). */
export function userRef(user: CrmUser): { name: string; id: string; email: string } {
  return { name: user.full_name, id: user.id, email: user.email };
}

/** Zoho's timestamp format: ISO 8601 with an explicit offset and no milliseconds. */
export function zohoTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}
