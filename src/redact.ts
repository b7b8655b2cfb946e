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

/** Replaces every occurrence of each secret in `text` with its redacted form. */
export function scrubText(text: string, secrets: Iterable<string | null | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    // Very short values would over-match ordinary words; they are not meaningful secrets anyway.
    if (typeof secret === 'string' && secret.length >= 4 && out.includes(secret)) {
      out = out.split(secret).join(redact(secret));
    }
  }
  return out;
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
