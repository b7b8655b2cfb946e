/**
 * The table model of FileStore: the token file's rows by id with their text, in file order, the
 * journal entries applied to it, and the writes of one batch staged over it.
 */
import type { OAuthToken } from '../../token/oauth-token.js';
import type { TokenRecord } from '../../token/token-record.js';
import {
  formatRow,
  newDialect,
  requiredWidth,
  widenDialect,
  type Dialect,
  type FileFormat,
  type ParsedFile,
} from './file-format.js';
import type { JournalEntry } from './file-journal.js';
import { nextId, numericId, planSave, type LookupValues } from '../kit/matching.js';
import { RecordIndex } from '../kit/record-index.js';

/** One row of the file. */
export interface Line {
  readonly text: string;
  readonly fields: number;
  /** `rowBytes` of the text, made at the first write and reused by the next ones. */
  bytes?: Buffer;
}

/** The tokens: rows by id with their text, in file order. Changed only after a write reached the disk. */
export class FileTable {
  dialect: Dialect | null;
  readonly index = new RecordIndex();
  readonly lines = new Map<string, Line>();
  /** The high-water mark the `.meta` sidecar holds. */
  metaLastId: number;

  constructor(dialect: Dialect | null, metaLastId: number) {
    this.dialect = dialect;
    this.metaLastId = metaLastId;
    this.index.raiseLargestId(metaLastId);
  }
}

/** The table of a parsed token file, with the high-water mark of its sidecar. */
export function tableOf(parsed: ParsedFile, metaLastId: number): FileTable {
  const table = new FileTable(parsed.dialect, metaLastId);
  for (const row of parsed.rows) {
    table.index.set(row.record);
    table.lines.set(row.record.id, { text: row.text, fields: row.fields });
  }
  return table;
}

/** Applies one journal entry: the same rows end up in the same places whether it is applied once or twice. */
export function applyEntry(table: FileTable, entry: JournalEntry, format: FileFormat): void {
  if (entry.cleared) {
    table.index.clear();
    table.lines.clear();
  }
  for (const id of entry.deleted) {
    table.index.delete(id);
    table.lines.delete(id);
  }
  if (entry.set.length > 0 || table.dialect === null) {
    const from = table.dialect ?? newDialect(format);
    let width = from.header.length;
    for (const record of entry.set) width = Math.max(width, requiredWidth(record));
    const dialect = widenDialect(from, width);
    const pad = padding(from, dialect);
    if (pad !== unchanged) for (const [id, line] of table.lines) table.lines.set(id, pad(line));
    for (const record of entry.set) {
      table.index.set(record);
      table.lines.set(record.id, { text: formatRow(record, width), fields: width });
    }
    table.dialect = dialect;
  }
  table.index.raiseLargestId(entry.lastId);
}

/** The high-water mark to keep in the sidecar when the file's rows no longer hold the largest id; else null. */
export function newMetaLastId(table: FileTable): number | null {
  const highWater = table.index.largestId;
  if (highWater <= table.metaLastId) return null;
  let largest = 0;
  for (const id of table.lines.keys()) largest = Math.max(largest, numericId(id) ?? 0);
  return largest < highWater ? highWater : null;
}

/**
 * The writes of one batch, staged over the table: saves see the batch's earlier writes, while
 * finds keep reading the table, which changes only once the journal holds the batch.
 */
export class Changes {
  readonly #table: FileTable;
  readonly #set = new RecordIndex();
  readonly #deleted = new Set<string>();
  #cleared = false;
  any = false;

  constructor(table: FileTable) {
    this.#table = table;
    this.#set.raiseLargestId(table.index.largestId);
  }

  save(snapshot: OAuthToken): string {
    const plan = planSave(snapshot, (values) => this.#candidates(values));
    const record = { ...plan.record };
    if (plan.kind === 'insert' && plan.needsId) record.id = nextId(this.#set.largestId);
    this.#deleted.delete(record.id);
    this.#set.set(record);
    this.any = true;
    return record.id;
  }

  delete(id: string): void {
    const staged = this.#set.delete(id) !== undefined;
    const stored = !this.#cleared && this.#table.index.has(id) && !this.#deleted.has(id);
    if (stored) this.#deleted.add(id);
    if (staged || stored) this.any = true;
  }

  clear(): void {
    if (this.#table.index.size > 0 || this.#set.size > 0 || this.#table.dialect === null) this.any = true;
    this.#cleared = true;
    this.#set.clear();
    this.#deleted.clear();
  }

  entry(): JournalEntry {
    return {
      cleared: this.#cleared,
      deleted: [...this.#deleted],
      set: [...this.#set.values()],
      lastId: this.#set.largestId,
    };
  }

  #candidates(values: LookupValues): TokenRecord[] {
    const stored = this.#cleared
      ? []
      : this.#table.index.candidates(values).filter((row) => !this.#set.has(row.id) && !this.#deleted.has(row.id));
    return [...stored, ...this.#set.candidates(values)];
  }
}

/** Rows of a 9-column file get an empty `api_domain` when the file widens, as the SDKs migrate it. */
function padding(from: Dialect, to: Dialect): (line: Line) => Line {
  if (from.header.length >= 10 || to.header.length < 10) return unchanged;
  return (line) => (line.fields < 10 ? { text: `${line.text},`, fields: line.fields + 1 } : line);
}

const unchanged = (line: Line): Line => line;
