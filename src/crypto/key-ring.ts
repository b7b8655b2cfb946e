/**
 * The configured keys, each expanded with HKDF-SHA256 into two independent subkeys: one for
 * AES-256-GCM and one for the HMAC that derives the synthetic IV. The key id is part of the HKDF
 * info, so even one key configured under two ids would yield unrelated subkeys (never a nonce reused
 * across AADs); configuring the same bytes twice is refused anyway as a mistake.
 */
import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { ErrorCode, ZohoTokenError } from '../errors.js';
import { wipe, type ParsedKeys } from './parse-keys.js';

const HKDF_SALT = Buffer.from('zoho-token-store/field-encryption', 'utf8');

export interface DerivedKey {
  readonly keyId: string;
  /** AES-256-GCM key. */
  readonly encryption: KeyObject;
  /** HMAC-SHA256 key for the synthetic IV. */
  readonly iv: KeyObject;
}

export class KeyRing {
  readonly currentKeyId: string;
  /** Every key id, current first: the order lookups try them in. */
  readonly keyIds: readonly string[];
  readonly #keys: ReadonlyMap<string, DerivedKey>;

  /** Derives the subkeys and zeroes the raw key copies in `parsed`. */
  constructor(parsed: ParsedKeys) {
    try {
      const seen: [string, Buffer][] = [];
      for (const [id, bytes] of parsed.keys) {
        const twin = seen.find(([, other]) => other.equals(bytes));
        if (twin) {
          throw new ZohoTokenError(
            ErrorCode.INVALID_ARGUMENT,
            `Keys ${JSON.stringify(twin[0])} and ${JSON.stringify(id)} are the same key: give each key id its own random key`,
            { field: 'keys' },
          );
        }
        seen.push([id, bytes]);
      }
      const keys = new Map<string, DerivedKey>();
      for (const [keyId, bytes] of parsed.keys) {
        keys.set(keyId, {
          keyId,
          encryption: derive(bytes, `zts1/aes-256-gcm/${keyId}`),
          iv: derive(bytes, `zts1/siv-hmac/${keyId}`),
        });
      }
      this.#keys = keys;
    } finally {
      wipe(parsed.keys);
    }
    this.currentKeyId = parsed.currentKeyId;
    this.keyIds = [parsed.currentKeyId, ...[...parsed.keys.keys()].filter((id) => id !== parsed.currentKeyId)];
  }

  get current(): DerivedKey {
    return this.#keys.get(this.currentKeyId)!;
  }

  get(keyId: string): DerivedKey | undefined {
    return this.#keys.get(keyId);
  }
}

function derive(ikm: Buffer, info: string): KeyObject {
  const bytes = Buffer.from(hkdfSync('sha256', ikm, HKDF_SALT, Buffer.from(info, 'utf8'), 32));
  try {
    return createSecretKey(bytes);
  } finally {
    bytes.fill(0);
  }
}
