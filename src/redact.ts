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

/** A polynomial hash of `text[from, from + length)`, mod 2^32. */
function windowHash(text: string, from: number, length: number): number {
  let hash = 0;
  for (let i = from; i < from + length; i++) hash = (Math.imul(hash, BASE) + text.charCodeAt(i)) >>> 0;
  return hash;
}

/**
 * Replaces every occurrence of each secret in `text` with its redacted form, in one left-to-right
 * pass (the longest secret wins where several start at one place). Rabin–Karp with one rolling
 * hash per distinct secret length: the time grows with the text times the number of distinct
 * lengths, not with the number of secrets, so scrubbing a listing of 100,000 tokens against their
 * 400,000 secrets stays linear.
 */
export function scrubText(text: string, secrets: Iterable<string | null | undefined>): string {
  const byLength = new Map<number, Map<number, string[]>>();
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH || secret.length > text.length) continue;
    let table = byLength.get(secret.length);
    if (table === undefined) byLength.set(secret.length, (table = new Map()));
    const hash = windowHash(secret, 0, secret.length);
    const bucket = table.get(hash);
    if (bucket === undefined) table.set(hash, [secret]);
    else if (!bucket.includes(secret)) bucket.push(secret);
  }
  if (byLength.size === 0) return text;
  const windows = [...byLength]
    .sort(([a], [b]) => b - a)
    .map(([length, table]) => ({ length, table, top: 0, hash: 0, at: -1 }));
  for (const w of windows) w.top = powMod(BASE, w.length - 1);
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; ) {
    let matched = 0;
    for (const w of windows) {
      if (i + w.length > text.length) continue;
      if (w.at === i - 1 && w.at >= 0) {
        // Roll the window one character: drop text[i - 1], take text[i + length - 1].
        const dropped = Math.imul(text.charCodeAt(i - 1), w.top);
        w.hash = (Math.imul((w.hash - dropped) >>> 0, BASE) + text.charCodeAt(i + w.length - 1)) >>> 0;
      } else {
        w.hash = windowHash(text, i, w.length);
      }
      w.at = i;
      if (matched === 0) {
        const bucket = w.table.get(w.hash);
        if (bucket?.some((secret) => text.startsWith(secret, i))) matched = w.length;
      }
    }
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

function powMod(base: number, exponent: number): number {
  let result = 1;
  for (let i = 0; i < exponent; i++) result = Math.imul(result, base) >>> 0;
  return result;
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
