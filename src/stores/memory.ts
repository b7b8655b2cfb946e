import { ErrorCode, ZohoTokenError } from '../errors.js';
import type { OAuthToken } from '../token/oauth-token.js';
import { tokenFromRecord, type TokenRecord } from '../token/token-record.js';
import { checkId, findMatch, nextId, numericId, planSave, snapshotToken, type LookupValues } from './matching.js';
import type { TokenStore } from './token-store.js';

type IndexedField = keyof LookupValues & keyof TokenRecord;
const INDEXED: readonly IndexedField[] = ['userName', 'accessToken', 'grantToken', 'refreshToken'];

/**
 * In-process store: the reference implementation of the contract. Nothing survives the process.
 * Every lookup column is indexed, so finds cost the same at 100 tokens and at 100,000.
 */
export class MemoryStore implements TokenStore {
  readonly #rows = new Map<string, TokenRecord>();
  readonly #indexes = new Map<IndexedField, Map<string, Set<string>>>(INDEXED.map((field) => [field, new Map()]));
  #largestId = 0;
  #closed = false;

  async findToken(token: OAuthToken): Promise<OAuthToken | null> {
    this.#assertOpen();
    const found = await findMatch(snapshotToken(token, 'findToken'), (values) => this.#candidates(values));
    return found && tokenFromRecord(found);
  }

  async saveToken(token: OAuthToken): Promise<void> {
    this.#assertOpen();
    const snapshot = snapshotToken(token, 'saveToken');
    const plan = planSave(snapshot, (values) => this.#candidates(values));
    const record = { ...plan.record };
    if (plan.kind === 'update') this.#unindex(plan.previous);
    else if (plan.needsId) record.id = nextId(this.#largestId);
    this.#rows.set(record.id, record);
    this.#index(record);
    token.id = record.id;
  }

  async deleteToken(id: string): Promise<void> {
    this.#assertOpen();
    const key = checkId(id, 'deleteToken');
    const record = key === null ? undefined : this.#rows.get(key);
    if (record) {
      this.#unindex(record);
      this.#rows.delete(record.id);
    }
  }

  async getTokens(): Promise<OAuthToken[]> {
    this.#assertOpen();
    return [...this.#rows.values()].map(tokenFromRecord);
  }

  async deleteTokens(): Promise<void> {
    this.#assertOpen();
    this.#rows.clear();
    for (const index of this.#indexes.values()) index.clear();
  }

  async findTokenById(id: string): Promise<OAuthToken | null> {
    this.#assertOpen();
    const key = checkId(id, 'findTokenById');
    const record = key === null ? undefined : this.#rows.get(key);
    return record ? tokenFromRecord(record) : null;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ZohoTokenError(ErrorCode.STORE_CLOSED, 'MemoryStore is closed');
  }

  #candidates(values: LookupValues): TokenRecord[] {
    const ids = new Set<string>();
    if (values.id !== null) ids.add(values.id);
    for (const field of INDEXED) {
      const value = values[field];
      if (value === null) continue;
      for (const id of this.#indexes.get(field)?.get(value) ?? []) ids.add(id);
    }
    const rows: TokenRecord[] = [];
    for (const id of ids) {
      const row = this.#rows.get(id);
      if (row) rows.push(row);
    }
    return rows;
  }

  #index(record: TokenRecord): void {
    for (const field of INDEXED) {
      const value = record[field];
      if (value === null) continue;
      const index = this.#indexes.get(field)!;
      let ids = index.get(value);
      if (!ids) index.set(value, (ids = new Set()));
      ids.add(record.id);
    }
    const n = numericId(record.id);
    if (n !== null && n > this.#largestId) this.#largestId = n;
  }

  #unindex(record: TokenRecord): void {
    for (const field of INDEXED) {
      const value = record[field];
      if (value === null) continue;
      const index = this.#indexes.get(field)!;
      const ids = index.get(value);
      ids?.delete(record.id);
      if (ids?.size === 0) index.delete(value);
    }
  }
}
