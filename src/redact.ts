import { createHash } from 'node:crypto';

/**
 * Shows a secret without revealing it: its first 4 characters (Zoho's `1000.` prefix carries no
 * secret) and a short SHA-256 fingerprint, so two log lines can be told apart or matched.
 */
export function redact(secret: string | null | undefined): string {
  if (secret === null || secret === undefined) return String(secret);
  if (secret.length === 0) return '""';
  const fingerprint = createHash('sha256').update(secret).digest('hex').slice(0, 8);
  const prefix = secret.length > 12 ? secret.slice(0, 4) : '';
  return `${prefix}…[redacted #${fingerprint}]`;
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
