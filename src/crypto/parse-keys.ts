/**
 * Turns user-supplied key configuration into validated 32-byte keys. Every error is INVALID_ARGUMENT
 * and never quotes a key: at most a key id, and only once it is known to be a well-formed id (an id
 * is at most 32 characters, so it can never be a whole 43-character base64 or 64-digit hex key).
 */
import { ErrorCode, ZohoTokenError } from '../errors.js';

/** A key: 32 raw bytes, or their base64 / base64url (43 or 44 characters) or hex (64 digits) text. */
export type KeyMaterial = Uint8Array | string;

/** AES-256 takes 32-byte keys. */
export const KEY_BYTES = 32;

/** The environment variable read when no `keys` option is given. */
export const DEFAULT_KEYS_ENV = 'ZOHO_TOKEN_STORE_KEYS';

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}$/;

/** Validated keys: raw bytes by id, in configuration order, and which one encrypts. */
export interface ParsedKeys {
  readonly keys: ReadonlyMap<string, Buffer>;
  readonly currentKeyId: string;
}

export interface KeySource {
  /** Keys by id, or a key list in the environment-variable format. */
  keys?: Readonly<Record<string, KeyMaterial>> | string;
  currentKeyId?: string;
  keysEnv?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

function invalid(message: string, field: string): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, message, { field });
}

/** Checks a key id: 1–32 letters, digits, `_` or `-` (no `:`, which separates the parts of a ciphertext). */
export function parseKeyId(id: unknown, where: string): string {
  if (typeof id !== 'string' || !KEY_ID.test(id)) {
    throw invalid(`${where}: a key id must be 1 to 32 letters, digits, '_' or '-'`, 'keys');
  }
  return id;
}

/** Decodes one key to exactly 32 bytes (a private copy). */
export function parseKeyMaterial(value: unknown, keyId: string): Buffer {
  const name = `Encryption key ${JSON.stringify(keyId)}`;
  let bytes: Buffer;
  if (value instanceof Uint8Array) {
    bytes = Buffer.from(value);
  } else if (typeof value === 'string') {
    const text = value.trim();
    if (HEX_KEY.test(text)) {
      bytes = Buffer.from(text, 'hex');
    } else {
      if (!BASE64.test(text)) throw invalid(`${name} is neither base64 nor 64 hex digits`, 'keys');
      bytes = Buffer.from(text, 'base64');
      // Buffer.from skips bad characters and ignores stray bits; a strict round trip catches typos.
      const canonical = (s: string): string => s.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
      if (canonical(bytes.toString('base64url')) !== canonical(text)) {
        bytes.fill(0);
        throw invalid(`${name} is not valid base64`, 'keys');
      }
    }
  } else {
    throw invalid(`${name} must be a Buffer/Uint8Array or a base64 or hex string`, 'keys');
  }
  if (bytes.length !== KEY_BYTES) {
    const length = bytes.length;
    bytes.fill(0);
    throw invalid(`${name} is ${length} bytes; AES-256 needs exactly ${KEY_BYTES}`, 'keys');
  }
  return bytes;
}

/**
 * Parses `<keyId>:<key>[,<keyId>:<key>…]` (whitespace around entries allowed); the first entry is
 * the current key. `source` names where the text came from, for messages.
 */
export function parseKeyList(text: string, source: string): ParsedKeys {
  const keys = new Map<string, Buffer>();
  const entries = text.split(',');
  try {
    entries.forEach((raw, index) => {
      const entry = raw.trim();
      const where = `${source}, entry ${index + 1}`;
      if (entry === '') throw invalid(`${where} is empty (expected <keyId>:<base64 key>)`, 'keys');
      const colon = entry.indexOf(':');
      if (colon < 0) throw invalid(`${where} has no key id (expected <keyId>:<base64 key>)`, 'keys');
      const id = parseKeyId(entry.slice(0, colon), where);
      if (keys.has(id)) throw invalid(`${source} lists key id ${JSON.stringify(id)} twice`, 'keys');
      keys.set(id, parseKeyMaterial(entry.slice(colon + 1), id));
    });
  } catch (error) {
    wipe(keys);
    throw error;
  }
  const first = keys.keys().next();
  if (first.done === true) throw invalid(`${source} holds no keys`, 'keys');
  return { keys, currentKeyId: first.value };
}

/**
 * Resolves the `keys` / `currentKeyId` / environment options: an explicit `keys` wins; without it
 * the environment variable `keysEnv` is read. A key list's first entry is current unless
 * `currentKeyId` says otherwise; a record of several keys needs `currentKeyId` (object key order
 * is not a safe way to say which key encrypts).
 */
export function resolveKeys(source: KeySource): ParsedKeys {
  const envName = source.keysEnv ?? DEFAULT_KEYS_ENV;
  let parsed: ParsedKeys;
  if (typeof source.keys === 'string') {
    parsed = parseKeyList(source.keys, 'keys');
  } else if (source.keys !== undefined) {
    if (source.keys === null || typeof source.keys !== 'object') {
      throw invalid('keys must be an object of key id → key, or a "<keyId>:<key>,…" list', 'keys');
    }
    const keys = new Map<string, Buffer>();
    try {
      for (const [id, material] of Object.entries(source.keys)) {
        keys.set(parseKeyId(id, 'keys'), parseKeyMaterial(material, id));
      }
    } catch (error) {
      wipe(keys);
      throw error;
    }
    const ids = [...keys.keys()];
    if (ids.length === 0) throw invalid('keys holds no keys', 'keys');
    if (ids.length > 1 && source.currentKeyId === undefined) {
      wipe(keys);
      throw invalid('With several keys, currentKeyId must say which one encrypts', 'currentKeyId');
    }
    parsed = { keys, currentKeyId: ids[0]! };
  } else {
    const text = (source.env ?? process.env)[envName];
    if (text === undefined || text.trim() === '') {
      throw invalid(
        `No encryption keys: pass the keys option or set ${envName}="<keyId>:<base64 key>[,<older keyId>:<key>…]" (first = current)`,
        'keys',
      );
    }
    parsed = parseKeyList(text, `environment variable ${envName}`);
  }
  if (source.currentKeyId === undefined) return parsed;
  if (typeof source.currentKeyId !== 'string' || !KEY_ID.test(source.currentKeyId)) {
    wipe(parsed.keys);
    throw invalid("currentKeyId must be 1 to 32 letters, digits, '_' or '-'", 'currentKeyId');
  }
  if (!parsed.keys.has(source.currentKeyId)) {
    wipe(parsed.keys);
    throw invalid(
      `currentKeyId ${JSON.stringify(source.currentKeyId)} is not among the configured keys`,
      'currentKeyId',
    );
  }
  return { keys: parsed.keys, currentKeyId: source.currentKeyId };
}

/** Zeroes key copies that will not be used (best effort: JavaScript may have copied them). */
export function wipe(keys: ReadonlyMap<string, Buffer>): void {
  for (const bytes of keys.values()) bytes.fill(0);
}
