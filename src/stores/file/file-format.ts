/**
 * The official Zoho SDKs' token file: one header line, then one CSV row per token, columns in the
 * order of the MySQL table. Parsing accepts every form those SDKs write (TypeScript and Python
 * headers, the older 9-column form, LF or CRLF, with or without a final newline); serializing
 * keeps the form of the file it read, so rows an official SDK wrote stay byte-identical.
 */
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { ErrorCode, ZohoTokenError } from '../../errors.js';
import { OFFICIAL_COLUMNS, recordToRow } from '../kit/columns.js';
import { parseExpiry, type TokenRecord } from '../../token/token-record.js';

export type FileFormat = 'typescript' | 'python';

/** The table's columns with the names one SDK's token file uses instead. */
function fileHeader(renamed: Readonly<Partial<Record<(typeof OFFICIAL_COLUMNS)[number], string>>>): readonly string[] {
  return Object.freeze(OFFICIAL_COLUMNS.map((column) => renamed[column] ?? column));
}

/** The TypeScript SDK's header (`file_store.js`, `this.headers`): the table's, with `user_mail`. */
export const TYPESCRIPT_HEADER = fileHeader({ user_name: 'user_mail' });
/** The Python SDK's header (`file_store.py`, `self.headers`): the table's, with `redirect_uri`. */
export const PYTHON_HEADER = fileHeader({ redirect_url: 'redirect_uri' });
/** Ours, after the official ten: both SDKs read columns by position and ignore an 11th. */
export const ACCOUNTS_URL_COLUMN = 'accounts_url';

/** The older official form has no `api_domain`; every official reader needs at least these. */
const MIN_COLUMNS = 9;
const MAX_COLUMNS = 11;

/** How a file is laid out, kept when it is rewritten. */
export interface Dialect {
  /** Column names exactly as the file spells them; their count is the file's width (9 to 11). */
  readonly header: readonly string[];
  /** The TypeScript SDK joins with LF; Python's `csv` ends every row with CRLF. */
  readonly eol: '\n' | '\r\n';
  /** Whether the last row ends with `eol` (Python) or not (TypeScript). */
  readonly finalEol: boolean;
  readonly bom: boolean;
}

/** One row: its token, its text in the file (without line end), its field count and line number. */
export interface FileRow {
  readonly record: TokenRecord;
  readonly text: string;
  readonly fields: number;
  readonly line: number;
}

export interface ParsedFile {
  /** null for an empty file (both SDKs treat it as new and write a header). */
  readonly dialect: Dialect | null;
  readonly rows: FileRow[];
}

export function newDialect(format: FileFormat): Dialect {
  return format === 'python'
    ? { header: PYTHON_HEADER, eol: '\r\n', finalEol: true, bom: false }
    : { header: TYPESCRIPT_HEADER, eol: '\n', finalEol: false, bom: false };
}

/** The width a record needs: 9 columns hold it unless it has an API domain or an accounts URL. */
export function requiredWidth(record: TokenRecord): number {
  if (record.accountsUrl !== null) return 11;
  return record.apiDomain !== null ? 10 : MIN_COLUMNS;
}

/** Adds `api_domain` and then `accounts_url` to the header, as the SDKs add `api_domain` to a 9-column file. */
export function widenDialect(dialect: Dialect, width: number): Dialect {
  if (width <= dialect.header.length) return dialect;
  const header = [...dialect.header];
  if (header.length < 10) header.push('api_domain');
  if (width > 10) header.push(ACCOUNTS_URL_COLUMN);
  return { ...dialect, header };
}

/**
 * A row's text. Minimal quoting, as Python's `csv` and `csv-stringify` do: only a value holding a
 * comma, quote, CR or LF is quoted, so ordinary rows are exactly what the official SDKs write.
 */
export function formatRow(record: TokenRecord, width: number): string {
  return formatFields(rowFields(record).slice(0, width));
}

/** A record as the 11 fields of a row, in column order; null is empty. */
export function rowFields(record: TokenRecord): string[] {
  // The file's columns are the table's: one mapping of a record to its row, in kit/columns.ts.
  return recordToRow(record).map((value) => value ?? '');
}

function formatFields(fields: readonly string[]): string {
  return fields.some((value) => NEEDS_QUOTES.test(value)) ? stringify([fields], { eof: false }) : fields.join(',');
}

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * The file's bytes, as chunks to write in order: header, the rows (each made with `rowBytes`), end.
 * Rows are kept encoded between writes, so a rewrite re-encodes only the rows that changed.
 */
export function fileChunks(dialect: Dialect, rows: readonly Buffer[]): Buffer[] {
  const header = Buffer.from(`${dialect.bom ? '\uFEFF' : ''}${formatFields(dialect.header)}`);
  return [header, ...rows, Buffer.from(dialect.finalEol ? dialect.eol : '')];
}

/** A row's bytes in a file of this dialect: the line end that precedes it, then its text. */
export function rowBytes(dialect: Dialect, text: string): Buffer {
  return Buffer.from(`${dialect.eol}${text}`);
}

/**
 * Parses a token file. Throws CORRUPT_RECORD naming the line (never its values) for anything it
 * cannot read back exactly: an unknown header, a CSV syntax error, a row with too few or too many
 * fields, an empty or repeated id, an invalid expiry. `where` names the file in messages.
 */
export function parseTokenFile(text: string, where: string): ParsedFile {
  const bom = text.startsWith('\uFEFF');
  const body = bom ? text.slice(1) : text;
  if (body.trim() === '') return { dialect: null, rows: [] };
  const newline = body.indexOf('\n');
  const eol = newline > 0 && body[newline - 1] === '\r' ? '\r\n' : '\n';
  const records = body.includes('"') ? parseQuoted(body, eol, where) : parsePlain(body);
  const [first, ...rest] = records;
  if (!first || !isHeader(first.fields)) throw corrupt(where, first?.line ?? 1, 'is not a token file header');
  const width = first.fields.length;
  // A header without a line break is a new file: its line ends are those of the SDK it names.
  const dialect: Dialect =
    newline === -1
      ? { ...newDialect(first.fields[1] === PYTHON_HEADER[1] ? 'python' : 'typescript'), header: first.fields, bom }
      : { header: first.fields, eol, finalEol: body.endsWith('\n'), bom };
  const seen = new Map<string, number>();
  const rows = rest.map(({ fields, line, text: rowText }): FileRow => {
    if (fields.length < MIN_COLUMNS || fields.length > width) {
      throw corrupt(where, line, `has ${fields.length} fields; the header has ${width}`);
    }
    const record = recordOf(fields, where, line);
    const earlier = seen.get(record.id);
    if (earlier !== undefined) throw corrupt(where, line, `repeats the id of line ${earlier}`);
    seen.set(record.id, line);
    return { record, text: rowText ?? formatFields(fields), fields: fields.length, line };
  });
  return { dialect, rows };
}

interface RawRecord {
  fields: string[];
  line: number;
  /** The row's exact text when it can be reused as is. */
  text?: string;
}

/** No quote anywhere: CSV is then exactly a split on line ends and commas, and 30× faster. */
function parsePlain(body: string): RawRecord[] {
  const records: RawRecord[] = [];
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let text = lines[i]!;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') continue;
    records.push({ fields: text.split(','), line: i + 1, text });
  }
  return records;
}

/**
 * Real CSV. Each row keeps its exact text, cut from the input by the parser's byte offsets, so
 * that a row nobody changed is written back as it was (quotes and all), not re-quoted.
 */
function parseQuoted(body: string, eol: string, where: string): RawRecord[] {
  let parsed: { record: string[]; info: { lines: number; bytes: number } }[];
  try {
    parsed = parse(body, {
      relax_column_count: true,
      // The TypeScript SDK never quotes: a stray quote inside its values is data, not syntax.
      relax_quotes: true,
      skip_empty_lines: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number; bytes: number } }[];
  } catch (error) {
    // The parser's message may quote file content: keep only its code and line.
    const { code, lines } = error as { code?: unknown; lines?: unknown };
    throw corrupt(
      where,
      typeof lines === 'number' ? lines : 0,
      `is not valid CSV (${typeof code === 'string' ? code : 'parse error'})`,
    );
  }
  // The parser counts UTF-8 bytes; a record's span runs from the end of the previous record to
  // its own end, so it starts with any empty lines skipped before it and ends with its line end.
  const bytes = Buffer.from(body);
  let start = 0;
  const records: RawRecord[] = [];
  for (const { record, info } of parsed) {
    let text = bytes.toString('utf8', start, info.bytes).replace(/^[\r\n]+/, '');
    start = info.bytes;
    if (record.length === 1 && record[0]!.trim() === '') continue;
    if (text.endsWith(eol)) text = text.slice(0, -eol.length);
    // A first field that itself starts with a line break would be cut above: re-encode that row.
    records.push({ fields: record, line: info.lines, ...(/^[\r\n]/.test(record[0]!) ? {} : { text }) });
  }
  return records;
}

function isHeader(fields: readonly string[]): boolean {
  if (fields.length < MIN_COLUMNS || fields.length > MAX_COLUMNS) return false;
  return fields.every((name, i) =>
    i < 10 ? name === TYPESCRIPT_HEADER[i] || name === PYTHON_HEADER[i] : name === ACCOUNTS_URL_COLUMN,
  );
}

/** The record a row's fields (official column order) hold: empty is null. Throws CORRUPT_RECORD naming `where` and `line`. */
export function recordOf(fields: readonly string[], where: string, line: number): TokenRecord {
  const value = (i: number): string | null => {
    const field = fields[i];
    return field === undefined || field === '' ? null : field;
  };
  const id = value(0);
  if (id === null) throw corrupt(where, line, 'has no id');
  let expiresAt: number | null;
  try {
    expiresAt = parseExpiry(value(7), id);
  } catch {
    throw corrupt(where, line, 'has an invalid expiry_time');
  }
  return {
    id,
    userName: value(1),
    clientId: value(2),
    clientSecret: value(3),
    refreshToken: value(4),
    accessToken: value(5),
    grantToken: value(6),
    expiresAt,
    redirectUrl: value(8),
    apiDomain: value(9),
    accountsUrl: value(10),
  };
}

function corrupt(where: string, line: number, what: string): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.CORRUPT_RECORD, `${where}: line ${line} ${what}`);
}
