import { styleText } from 'node:util';
import { isEncryptedValue } from '../crypto/field-cipher.js';
import { createScrubber, redact, scrubText } from '../redact.js';
import { classifyError } from './cli-error.js';

/** Where the CLI writes; the process's streams in production, buffers in unit tests. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Asks a question on the terminal; undefined when stdin is not a TTY (then nothing is prompted). */
  readonly prompt?: ((question: string) => Promise<string>) | undefined;
  /** Whether stdout is a terminal: the status column is coloured only there. */
  readonly stdoutIsTty?: boolean | undefined;
  /** Whether stderr is a terminal: confirmations are asked only when stdin and stderr are. */
  readonly stderrIsTty?: boolean | undefined;
}

export interface OutputOptions {
  /** Machine output: one JSON document on stdout per command. */
  json: boolean;
  /** Print secret values instead of their redacted form. */
  showSecrets: boolean;
  /** Stack traces and causes on errors. */
  verbose: boolean;
  /** Colour the columns that have a style (see colourEnabled); off unless set. */
  colour?: boolean;
}

/** A colour node:util's styleText knows. */
export type Style = Parameters<typeof styleText>[0];

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** The cell's colour on a colour terminal; the text is the same without it. */
  style?: (row: T) => Style | undefined;
}

/** One output line made of parts, some coloured: each part is scrubbed and escaped before it is coloured. */
export class StyledLine {
  constructor(readonly parts: readonly { text: string; style?: Style | undefined }[]) {}
}

/** What a command's human result is made of. */
export type HumanLine = string | StyledLine;

/**
 * All CLI output goes through here, so redaction is decided in one place: secrets are printed only
 * with `--show-secrets`, and every value the CLI has seen as a secret (client secret, grant code,
 * tokens) is scrubbed from whatever else it prints — errors always, even with `--show-secrets`.
 */
export class Output {
  readonly #io: CliIo;
  readonly #secrets = new Set<string>();
  options: OutputOptions;

  constructor(io: CliIo, options: OutputOptions = { json: false, showSecrets: false, verbose: false }) {
    this.#io = io;
    this.options = options;
  }

  /** Remembers values that must never appear in output unless `--show-secrets` asks for them. */
  addSecrets(...values: (string | null | undefined)[]): void {
    for (const value of values) {
      if (typeof value !== 'string' || value.length === 0) continue;
      this.#secrets.add(value);
      // A secret with control characters is printed escaped when it lands in a non-secret field.
      this.#secrets.add(printable(value));
    }
  }

  /** A secret as it may be printed: itself with `--show-secrets`, else redacted (null stays null). */
  secret(value: string | null | undefined): string | null {
    if (value === null || value === undefined) return null;
    this.addSecrets(value);
    if (this.options.showSecrets) return value;
    // Redaction hides even the ciphertext's format prefix: say what is stored (without the keys).
    return isEncryptedValue(value) ? `encrypted ${redact(value)}` : redact(value);
  }

  /** Human output, on stdout; ignored in `--json` mode (the command prints its JSON instead). */
  line(text = ''): void {
    if (!this.options.json) this.#write(this.#io.stdout, `${text}\n`, !this.options.showSecrets, true);
  }

  /** The command's result: `human()` lines, or `json()` as one JSON document. */
  result(human: () => string | readonly HumanLine[], json: () => unknown): void {
    if (this.options.json) {
      if (this.options.showSecrets) {
        this.#io.stdout.write(`${JSON.stringify(json(), null, 2)}\n`);
        return;
      }
      // Each string value is scrubbed as it is serialised (keys are ours): linear in the values'
      // length, and the many values shorter than any secret cost one comparison. A secret with a
      // quote or backslash is caught as it is, not in its escaped JSON form.
      const value = json(); // first: building the value remembers the secrets it saw
      const scrub = createScrubber(this.#secrets);
      this.#io.stdout.write(
        `${JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? scrub(item) : item), 2)}\n`,
      );
      return;
    }
    const text = human();
    const lines = typeof text === 'string' ? [text] : text;
    const scrub = !this.options.showSecrets;
    const rendered = lines.map((line) =>
      typeof line === 'string'
        ? this.#render(line, scrub)
        : line.parts
            .map(({ text: part, style }) => {
              const safe = this.#render(part, scrub);
              // Coloured after escaping: the only escape sequences on the line are these. colourEnabled
              // decided already (for io.stdout, which need not be process.stdout): styleText must not re-check.
              return style !== undefined && this.options.colour === true
                ? styleText(style, safe, { validateStream: false })
                : safe;
            })
            .join(''),
    );
    this.#io.stdout.write(`${rendered.join('\n')}\n`);
  }

  /** Progress and warnings: stderr, in both modes, so stdout stays one JSON document. */
  note(text: string): void {
    this.#write(this.#io.stderr, `${text}\n`, true, true);
  }

  /** `error: <message> (<code>)`; with `--verbose` the stack and causes too. Always scrubbed. */
  error(error: unknown): void {
    const { code } = classifyError(error);
    const message = error instanceof Error ? error.message : String(error);
    let text = `error: ${message} (${code})\n`;
    if (this.options.verbose) {
      for (let e: unknown = error; e instanceof Error; e = e.cause)
        text += `${e === error ? '' : 'caused by: '}${e.stack ?? e.message}\n`;
    }
    this.#write(this.#io.stderr, text, true, true);
  }

  /**
   * Aligned columns; every cell is made printable first, so a stored value can neither break a row
   * nor the alignment. Cells are padded before they are coloured, so colour cannot shift a column.
   */
  table<T>(columns: Column<T>[], rows: readonly T[]): HumanLine[] {
    if (this.options.colour !== true || !columns.some((c) => c.style)) return this.plainTable(columns, rows);
    const { header, cells } = alignedCells(columns, rows);
    return [
      header,
      ...cells.map(
        (padded, r) =>
          new StyledLine(
            padded.flatMap((text, i) => [
              ...(i === 0 ? [] : [{ text: '  ' }]),
              { text, style: columns[i]!.style?.(rows[r]!) },
            ]),
          ),
      ),
    ];
  }

  /** The same table without colour, for text that is not a result (a confirmation on stderr). */
  plainTable<T>(columns: Column<T>[], rows: readonly T[]): string[] {
    const { header, cells } = alignedCells(columns, rows);
    return [header, ...cells.map((padded) => padded.join('  '))];
  }

  /**
   * `human`: text for a terminal, where any control character left in it (an error message that
   * echoes a value) is escaped too; line breaks of the text itself stay. JSON is written exact.
   */
  #write(stream: CliIo['stdout'], text: string, scrub: boolean, human: boolean): void {
    stream.write(human ? this.#render(text, scrub) : scrub ? scrubText(text, this.#secrets) : text);
  }

  #render(text: string, scrub: boolean): string {
    return printableLines(scrub ? scrubText(text, this.#secrets) : text);
  }
}

/** The header line and every row's cells, made printable and padded to their column (the last one not). */
function alignedCells<T>(columns: Column<T>[], rows: readonly T[]): { header: string; cells: string[][] } {
  const cells = rows.map((row) => columns.map((c) => printable(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const pad = (values: string[]): string[] =>
    values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!)));
  return { header: pad(columns.map((c) => c.header)).join('  '), cells: cells.map(pad) };
}

/**
 * Characters that make a terminal do something instead of showing a character: C0 controls (tab
 * and line feed included: inside a value they would break a row), DEL, C1 controls (U+009B is a
 * CSI in some terminals), the bidirectional controls that reorder what follows (U+202E shows
 * `exe.txt` as `txt.exe`), and the Unicode line and paragraph separators.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNPRINTABLE_BUT_NEWLINE =
  // eslint-disable-next-line no-control-regex -- likewise
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const SHORT_ESCAPES: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeChar(char: string): string {
  const shortForm = SHORT_ESCAPES[char];
  if (shortForm !== undefined) return shortForm;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * A stored value as a human-readable output may show it: every control character above becomes a
 * visible escape (`\x1b`, `\n`, `\u202e`), so a database writer cannot clear the screen, draw fake
 * rows, plant terminal links or reorder text. JSON output keeps values exact instead.
 */
export function printable(value: string): string {
  return value.replace(UNPRINTABLE, escapeChar);
}

/** The same for a whole text whose own line breaks must stay. */
export function printableLines(text: string): string {
  return text.replace(UNPRINTABLE_BUT_NEWLINE, escapeChar);
}

/**
 * A store URL as it may be printed: the password of `postgres://user:pw@host` replaced, and the
 * query string hidden, since drivers also take a password there (`?password=…`).
 */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '' && parsed.search === '') return url;
    if (parsed.password !== '') parsed.password = '***';
    if (parsed.search !== '') parsed.search = '?***';
    return parsed.toString();
  } catch {
    // Not a WHATWG URL (a node list such as redis+cluster://u:pw@a:7000,b:7001/): mask by pattern.
    return url.replace(/^([^:/?#]+:\/\/[^:/?#@]*):[^/?#]*@/, '$1:***@').replace(/\?.*$/s, '?***');
  }
}
