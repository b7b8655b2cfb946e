/**
 * The FileStore's journal, `<file>.journal`: the writes not yet folded into the token file, one
 * line per committed batch, appended and flushed before the batch is acknowledged. Appending a
 * few hundred bytes instead of rewriting the whole official file is what makes a save cheap; the
 * store folds the journal into the file soon after (compaction).
 *
 * Layout: the header line, then one line per batch: `<checksum> <json>\n`, the checksum being the
 * first 16 hex digits of the SHA-256 of the JSON. A line is complete once its `\n` is written; a
 * process killed mid-append leaves an incomplete last line, which no one acknowledged, which every
 * reader leaves aside and which the next writer cuts off before appending. So only the end of the
 * journal can ever be torn: a complete line that does not check out is damage (bit rot, a stray
 * write), and skipping it would silently drop an acknowledged write, which the next fold would make
 * permanent. It is CORRUPT_RECORD instead, and nothing is applied or folded.
 *
 * An entry sets whole rows by id, deletes ids, or clears everything, so applying an entry twice
 * gives what applying it once gives: a crash between writing the compacted file and replacing the
 * journal loses nothing and duplicates nothing.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, ZohoTokenError } from '../../errors.js';
import type { TokenRecord } from '../../token/token-record.js';
import { recordOf, rowFields } from './file-format.js';

export const JOURNAL_HEADER = Buffer.from('zoho-token-store journal 1\n');

/** One committed batch. Applied in this order: `cleared`, `deleted`, `set`. */
export interface JournalEntry {
  readonly cleared: boolean;
  readonly deleted: readonly string[];
  /** Whole rows, replacing the row of the same id or added after the others. */
  readonly set: readonly TokenRecord[];
  /** The largest id ever handed out, so that an id deleted here is never handed out again. */
  readonly lastId: number;
}

interface EncodedEntry {
  c?: 1;
  d?: string[];
  s?: string[][];
  l: number;
}

const NEWLINE = 0x0a;

export function encodeEntry(entry: JournalEntry): Buffer {
  const encoded: EncodedEntry = { l: entry.lastId };
  if (entry.cleared) encoded.c = 1;
  if (entry.deleted.length > 0) encoded.d = [...entry.deleted];
  // Rows as the fields the token file would hold, read back by the file's own row reader: the
  // journal and the file cannot disagree about what a row means.
  if (entry.set.length > 0) encoded.s = entry.set.map(rowFields);
  const json = JSON.stringify(encoded);
  return Buffer.from(`${checksum(json)} ${json}\n`);
}

export interface DecodedJournal {
  readonly entries: JournalEntry[];
  /** Offset just past the last complete line: where the next read starts. */
  readonly end: number;
}

/**
 * Decodes the complete lines of `bytes`, which starts at offset `start` of the journal (0: the
 * header comes first). An incomplete last line is left for the next read. Throws CORRUPT_RECORD
 * for a complete line that is not a valid entry. `where` names the journal in errors, which never
 * quote its content.
 */
export function decodeJournal(bytes: Buffer, start: number, where: string): DecodedJournal {
  let position = 0;
  if (start === 0) {
    const headerEnd = bytes.indexOf(NEWLINE);
    if (headerEnd === -1) return { entries: [], end: 0 };
    if (!bytes.subarray(0, headerEnd + 1).equals(JOURNAL_HEADER)) {
      throw new ZohoTokenError(ErrorCode.CORRUPT_RECORD, `${where}: not a journal of this version of zoho-token-store`);
    }
    position = headerEnd + 1;
  }
  const entries: JournalEntry[] = [];
  for (;;) {
    const lineEnd = bytes.indexOf(NEWLINE, position);
    if (lineEnd === -1) break;
    entries.push(decodeLine(bytes.toString('utf8', position, lineEnd), where, start + position));
    position = lineEnd + 1;
  }
  return { entries, end: start + position };
}

/** Throws CORRUPT_RECORD for a damaged line (bad checksum) or a well-formed but invalid entry. */
function decodeLine(line: string, where: string, offset: number): JournalEntry {
  const space = line.indexOf(' ');
  const json = line.slice(space + 1);
  if (space !== 16 || checksum(json) !== line.slice(0, space)) {
    throw new ZohoTokenError(
      ErrorCode.CORRUPT_RECORD,
      `${where}: the line at byte ${offset} is damaged (its checksum does not match); nothing was read from the ` +
        'journal or folded into the token file. Keep a copy of both files, then remove that line by hand to keep the ' +
        'other writes, or move the journal aside to go back to the token file as it is',
    );
  }
  const invalid = (): ZohoTokenError =>
    new ZohoTokenError(ErrorCode.CORRUPT_RECORD, `${where}: the entry at byte ${offset} is not a valid journal entry`);
  let value: EncodedEntry;
  try {
    value = JSON.parse(json) as EncodedEntry;
  } catch {
    throw invalid();
  }
  const { c, d = [], s = [], l } = value;
  if (typeof l !== 'number' || !Number.isSafeInteger(l) || l < 0 || (c !== undefined && c !== 1)) throw invalid();
  if (!Array.isArray(d) || !d.every((id) => typeof id === 'string' && id !== '')) throw invalid();
  if (
    !Array.isArray(s) ||
    !s.every((fields) => Array.isArray(fields) && fields.length === 11 && fields.every((f) => typeof f === 'string'))
  ) {
    throw invalid();
  }
  return { cleared: c === 1, deleted: d, set: s.map((fields) => recordOf(fields, where, offset)), lastId: l };
}

function checksum(json: string): string {
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}
