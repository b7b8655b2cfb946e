import type { TokenRecord } from '../../token/token-record.js';
import { numericId, type LookupValues } from './matching.js';

type IndexedField = keyof LookupValues & keyof TokenRecord;
const INDEXED: readonly IndexedField[] = ['userName', 'accessToken', 'grantToken', 'refreshToken'];

/**
 * Token rows by id, in insertion order, with an index on every lookup column, so that fetching
 * the candidates of a match costs the same at 100 rows and at 100,000. In-memory stores and the
 * caches of file-backed stores share it; the matching rules stay in `matching.ts`.
 */
export class RecordIndex {
  readonly #rows = new Map<string, TokenRecord>();
  readonly #indexes = new Map<IndexedField, Map<string, Set<string>>>(INDEXED.map((field) => [field, new Map()]));
  #largestId = 0;

  get size(): number {
    return this.#rows.size;
  }

  /**
   * The largest numeric id ever held (deleted rows included) or declared with `raiseLargestId`:
   * what `nextId` needs so that a deleted id is never handed out again.
   */
  get largestId(): number {
    return this.#largestId;
  }

  get(id: string): TokenRecord | undefined {
    return this.#rows.get(id);
  }

  has(id: string): boolean {
    return this.#rows.has(id);
  }

  /** Rows in insertion order; a replaced row keeps its place. */
  values(): IterableIterator<TokenRecord> {
    return this.#rows.values();
  }

  /** Inserts the row, or replaces the row with the same id. The index keeps the object as is. */
  set(record: TokenRecord): void {
    const previous = this.#rows.get(record.id);
    if (previous) this.#unindex(previous);
    this.#rows.set(record.id, record);
    this.#index(record);
  }

  delete(id: string): TokenRecord | undefined {
    const record = this.#rows.get(id);
    if (record) {
      this.#unindex(record);
      this.#rows.delete(id);
    }
    return record;
  }

  /** Removes every row; the largest id is kept. */
  clear(): void {
    this.#rows.clear();
    for (const index of this.#indexes.values()) index.clear();
  }

  /** Declares an id handed out elsewhere (e.g. a persisted high-water mark). */
  raiseLargestId(largest: number): void {
    if (largest > this.#largestId) this.#largestId = largest;
  }

  /** Every row with the given id or any of the given column values (`null`: skip that column). */
  candidates(values: LookupValues): TokenRecord[] {
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
