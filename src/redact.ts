import { createHmac, randomBytes } from 'node:crypto';

/**
 * Key of the fingerprints, new in every process: within a process a fingerprint tells two log
 * lines apart or matches them, but whoever reads the logs cannot confirm a guessed secret offline
 * (a plain hash would let them), and fingerprints from two processes cannot be compared.
 */
const FINGERPRINT_KEY = randomBytes(32);

/**
 * Shows a secret without revealing it: `[redacted #1a2b3c4d]`, no character of the secret (not
 * even the `1000.` of Zoho tokens: a client secret has no such prefix), only an HMAC-SHA-256
 * fingerprint under a per-process random key.
 */
export function redact(secret: string | null | undefined): string {
  if (secret === null || secret === undefined) return String(secret);
  if (secret.length === 0) return '""';
  const fingerprint = createHmac('sha256', FINGERPRINT_KEY).update(secret).digest('hex').slice(0, 8);
  return `[redacted #${fingerprint}]`;
}

/** Shorter values would over-match ordinary words; they are not meaningful secrets anyway. */
const MIN_SECRET_LENGTH = 4;
const BASE = 0x01000193;
/** Most bits of a per-length filter (512 KB); each is sized to its secrets, 32 bits per secret. */
const MAX_FILTER_BITS = 22;
const MIN_FILTER_BITS = 10;
/** Up to this many secrets, one native search per secret beats building an index. */
const FEW_SECRETS = 32;

/** A polynomial hash of `text[from, from + length)`, mod 2^32. */
function windowHash(text: string, from: number, length: number): number {
  let hash = 0;
  for (let i = from; i < from + length; i++) hash = (Math.imul(hash, BASE) + text.charCodeAt(i)) >>> 0;
  return hash;
}

/** Secrets of one length: a bit filter and a table, both keyed by the window hash. */
interface LengthIndex {
  readonly length: number;
  /** BASE^(length - 1) mod 2^32: what the character leaving the window weighs. */
  readonly top: number;
  readonly filter: Uint32Array;
  /** How far a hash is shifted right to index the filter (32 minus the filter's bits). */
  readonly shift: number;
  /** Keyed by the hash's top 30 bits, which stay small integers (no boxed numbers in the loop). */
  readonly table: Map<number, string[]>;
}

function indexSecrets(secrets: readonly string[]): LengthIndex[] {
  const byLength = new Map<number, string[]>();
  for (const secret of secrets) {
    const list = byLength.get(secret.length);
    if (list === undefined) byLength.set(secret.length, [secret]);
    else list.push(secret);
  }
  const indexes: LengthIndex[] = [];
  for (const [length, list] of byLength) {
    let top = 1;
    for (let i = 1; i < length; i++) top = Math.imul(top, BASE) >>> 0;
    // Memory follows the number of secrets, whatever lengths a forged store makes them.
    const bits = Math.min(MAX_FILTER_BITS, Math.max(MIN_FILTER_BITS, Math.ceil(Math.log2(list.length * 32))));
    const index: LengthIndex = {
      length,
      top,
      filter: new Uint32Array(1 << (bits - 5)),
      shift: 32 - bits,
      table: new Map(),
    };
    for (const secret of list) {
      const hash = windowHash(secret, 0, length);
      const bit = hash >>> index.shift;
      index.filter[bit >>> 5]! |= 1 << (bit & 31);
      const bucket = index.table.get(hash >>> 2);
      if (bucket === undefined) index.table.set(hash >>> 2, [secret]);
      else if (!bucket.includes(secret)) bucket.push(secret);
    }
    indexes.push(index);
  }
  // Longest first: where several secrets start at one place, the longest is replaced.
  return indexes.sort((a, b) => b.length - a.length);
}

/** The same rule with one native search per secret: the fast way for a few secrets. */
function scrubFew(text: string, secrets: readonly string[]): string {
  // Leftmost first, the longest where several start at one place: what the indexed pass does.
  // Each secret's next occurrence is searched again only once the pass has moved beyond it.
  const next = secrets.map((secret) => text.indexOf(secret));
  let out = '';
  let copied = 0;
  for (;;) {
    let at = -1;
    let length = 0;
    for (let i = 0; i < secrets.length; i++) {
      if (next[i]! !== -1 && next[i]! < copied) next[i] = text.indexOf(secrets[i]!, copied);
      const found = next[i]!;
      if (found !== -1 && (at === -1 || found < at || (found === at && secrets[i]!.length > length))) {
        at = found;
        length = secrets[i]!.length;
      }
    }
    if (at === -1) break;
    out += text.slice(copied, at) + redact(text.slice(at, at + length));
    copied = at + length;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * Replaces every occurrence of each secret in `text` with its redacted form, in one left-to-right
 * pass (the longest secret wins where several start at one place). Rabin–Karp with one rolling
 * hash per distinct secret length: the time grows with the text times the number of distinct
 * lengths, not with the number of secrets, so scrubbing a listing of 100,000 tokens against their
 * 400,000 secrets stays linear.
 */
export function scrubText(text: string, secrets: Iterable<string | null | undefined>): string {
  const usable: string[] = [];
  for (const secret of secrets) {
    if (typeof secret === 'string' && secret.length >= MIN_SECRET_LENGTH && secret.length <= text.length) {
      usable.push(secret);
    }
  }
  if (usable.length === 0) return text;
  if (usable.length <= FEW_SECRETS) return scrubFew(text, usable);
  return scrubIndexed(text, compileIndexes(indexSecrets(usable)));
}

/**
 * {@link scrubText} against a fixed set of secrets, indexed once, for many texts (each string value
 * of a large JSON document): a text shorter than the shortest secret is returned at once.
 */
export function createScrubber(secrets: Iterable<string | null | undefined>): (text: string) => string {
  const usable: string[] = [];
  let shortest = Infinity;
  for (const secret of secrets) {
    if (typeof secret === 'string' && secret.length >= MIN_SECRET_LENGTH) {
      usable.push(secret);
      shortest = Math.min(shortest, secret.length);
    }
  }
  if (usable.length === 0) return (text) => text;
  if (usable.length <= FEW_SECRETS) return (text) => (text.length < shortest ? text : scrubFew(text, usable));
  const compiled = compileIndexes(indexSecrets(usable));
  return (text) => (text.length < shortest ? text : scrubIndexed(text, compiled));
}

/** The per-length indexes as flat typed arrays: the hot loop stays free of boxed numbers and property loads. */
interface CompiledIndexes {
  readonly indexes: readonly LengthIndex[];
  readonly lengths: Int32Array;
  readonly tops: Uint32Array;
  readonly filters: readonly Uint32Array[];
  readonly shifts: Int32Array;
}

function compileIndexes(indexes: LengthIndex[]): CompiledIndexes {
  return {
    indexes,
    lengths: Int32Array.from(indexes, (index) => index.length),
    tops: Uint32Array.from(indexes, (index) => index.top),
    filters: indexes.map((index) => index.filter),
    shifts: Int32Array.from(indexes, (index) => index.shift),
  };
}

/** The indexed pass: one rolling hash per distinct secret length. */
function scrubIndexed(text: string, { indexes, lengths, tops, filters, shifts }: CompiledIndexes): string {
  const count = indexes.length;
  const hashes = new Uint32Array(count);
  let hashedAt = -1;
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length;) {
    let matched = 0;
    const rolling = hashedAt === i - 1 && hashedAt >= 0;
    const dropping = rolling ? text.charCodeAt(i - 1) : 0;
    for (let k = 0; k < count; k++) {
      const length = lengths[k]!;
      if (i + length > text.length) continue;
      const hash = rolling
        ? (Math.imul((hashes[k]! - Math.imul(dropping, tops[k]!)) >>> 0, BASE) + text.charCodeAt(i + length - 1)) >>> 0
        : windowHash(text, i, length);
      hashes[k] = hash;
      if (matched !== 0) continue;
      const bit = hash >>> shifts[k]!;
      if ((filters[k]![bit >>> 5]! & (1 << (bit & 31))) === 0) continue;
      if (indexes[k]!.table.get(hash >>> 2)?.some((secret) => text.startsWith(secret, i))) matched = length;
    }
    hashedAt = i;
    if (matched === 0) {
      i++;
      continue;
    }
    out += text.slice(copied, i) + redact(text.slice(i, i + matched));
    i += matched;
    copied = i;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * Turns a driver error into one that is safe to attach as a `cause`: same name, code and message,
 * with every given secret scrubbed, and without the driver's extra properties (SQL text, bound
 * parameters, rows) that could echo a value.
 */
export function sanitizeCause(error: unknown, secrets: Iterable<string | null | undefined>): Error {
  const list = [...secrets];
  if (!(error instanceof Error)) return new Error(scrubText(String(error), list));
  const safe = new Error(scrubText(error.message, list));
  safe.name = error.name;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') {
    Object.defineProperty(safe, 'code', { value: code, enumerable: true });
  }
  safe.stack = scrubText(error.stack ?? '', list);
  return safe;
}
