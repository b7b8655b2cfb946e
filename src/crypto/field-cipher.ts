/**
 * Deterministic authenticated encryption of one field value (SIV-style AES-256-GCM):
 *
 *   iv   = HMAC-SHA256(ivKey, field ‖ 0x00 ‖ plaintext)[0..12]
 *   aad  = "zts1:" ‖ keyId ‖ ":" ‖ field
 *   text = "zts1:" ‖ keyId ‖ ":" ‖ base64url(iv ‖ AES-256-GCM(encKey, iv, plaintext, aad) ‖ tag)
 *
 * The same (key, field, plaintext) always gives the same text, which is what lets a store match an
 * encrypted refresh token by plain equality. The IV is a function of everything encrypted under
 * it, so a GCM nonce repeats only for an identical plaintext (identical ciphertext: nothing leaks
 * beyond equality). The field is in both the IV input and the AAD: a value cannot be moved to
 * another field, and equal values in different fields do not look equal.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import type { DerivedKey, KeyRing } from './key-ring.js';

export const FORMAT_VERSION = 'zts1';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const TAGGED = /^zts\d{1,3}:/;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export type DecryptResult =
  | { readonly ok: true; readonly plaintext: string; readonly keyId: string }
  | { readonly ok: false; readonly reason: string };

/**
 * True when a stored value is in an encrypted format (any version). Everything else is a
 * plaintext value from before encryption was enabled (Zoho's tokens start with `1000.`).
 */
export function isEncryptedValue(value: string): boolean {
  return TAGGED.test(value);
}

export class FieldCipher {
  readonly #ring: KeyRing;

  constructor(ring: KeyRing) {
    this.#ring = ring;
  }

  /** Encrypts under `keyId` (default: the current key). */
  encrypt(field: string, plaintext: string, keyId: string = this.#ring.currentKeyId): string {
    const key = this.#ring.get(keyId);
    if (key === undefined) throw new Error(`Key id ${JSON.stringify(keyId)} is not configured`);
    const data = Buffer.from(plaintext, 'utf8');
    const iv = syntheticIv(key, field, data);
    const cipher = createCipheriv('aes-256-gcm', key.encryption, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(keyId, field));
    const body = Buffer.concat([iv, cipher.update(data), cipher.final(), cipher.getAuthTag()]);
    return `${FORMAT_VERSION}:${keyId}:${body.toString('base64url')}`;
  }

  /**
   * Decrypts a value written by `encrypt` for `field`. A failure says why in words that never
   * quote the value: callers put the reason in errors.
   */
  decrypt(field: string, value: string): DecryptResult {
    const version = /^(zts\d{1,3}):/.exec(value)?.[1];
    if (version === undefined) return fail('the value is not in an encrypted format');
    if (version !== FORMAT_VERSION) return fail(`format version ${JSON.stringify(version)} is not supported`);
    const rest = value.slice(version.length + 1);
    const colon = rest.indexOf(':');
    if (colon < 0) return fail('the value is malformed (no key id)');
    const keyId = rest.slice(0, colon);
    if (!KEY_ID.test(keyId)) return fail('the key id is malformed');
    const key = this.#ring.get(keyId);
    if (key === undefined) return fail(`key id ${JSON.stringify(keyId)} is not configured`);
    const payload = rest.slice(colon + 1);
    if (!BASE64URL.test(payload)) return fail('the payload is not base64url');
    const body = Buffer.from(payload, 'base64url');
    // Non-canonical encodings (stray low bits) would decode to the same bytes: refuse them too.
    if (body.toString('base64url') !== payload) return fail('the payload is not canonical base64url');
    if (body.length < IV_BYTES + TAG_BYTES) return fail('the value is truncated');
    const iv = body.subarray(0, IV_BYTES);
    const tag = body.subarray(body.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.encryption, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(keyId, field));
      decipher.setAuthTag(tag);
      // The GCM tag authenticates IV, AAD and ciphertext; re-deriving the synthetic IV would only
      // catch values made by a key holder, at the cost of one more HMAC per read.
      const data = Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]);
      return { ok: true, plaintext: data.toString('utf8'), keyId };
    } catch {
      return fail('authentication failed: wrong key, or the value was tampered with or truncated');
    }
  }
}

function syntheticIv(key: DerivedKey, field: string, data: Buffer): Buffer {
  return createHmac('sha256', key.iv)
    .update(field, 'utf8')
    .update(Buffer.of(0))
    .update(data)
    .digest()
    .subarray(0, IV_BYTES);
}

function aad(keyId: string, field: string): Buffer {
  return Buffer.from(`${FORMAT_VERSION}:${keyId}:${field}`, 'utf8');
}

function fail(reason: string): DecryptResult {
  return { ok: false, reason };
}
