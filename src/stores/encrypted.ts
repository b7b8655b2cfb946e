/**
 * `zoho-token-store/encrypted`: encryption at rest for any TokenStore. {@link EncryptedStore} wraps
 * a store and encrypts the client secret and the refresh, access and grant tokens before they reach
 * it, and decrypts what comes back. The encryption is deterministic (crypto/field-cipher.ts), so the
 * inner store keeps applying the matching rules to ciphertexts unchanged: no schema change, any
 * backend. Keys, rotation and the threat model: docs/encryption.md.
 *
 * @packageDocumentation
 */
import { assertTokenStore, storeErrors } from './kit/store-errors.js';
import { StoreLifecycle } from './kit/store-lifecycle.js';
import { refreshLockName, withStoreLock } from './kit/store-lock.js';
import { silentLogger } from '../logger.js';
import { FieldCipher, isEncryptedValue } from '../crypto/field-cipher.js';
import { KeyRing } from '../crypto/key-ring.js';
import { resolveKeys, type KeyMaterial } from '../crypto/parse-keys.js';
import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../errors.js';
import { OAuthToken, SECRET_FIELDS, type OAuthTokenInit, type SecretField } from '../token/oauth-token.js';
import type { TokenRecord } from '../token/token-record.js';
import { keyMatches, matchKeys, snapshotToken, type MatchKey } from './kit/matching.js';
import type { LockHandle, LockOptions, StoreLock, TokenStore } from './kit/token-store.js';
import {
  findTokensById,
  iterateTokensOf,
  saveTokensOf,
  snapshotBatch,
  type IterateTokensOptions,
} from './kit/store-paging.js';

const errors = storeErrors('EncryptedStore');
/** The encrypted fields the matching rules look rows up by. */
const LOOKUP_FIELDS: ReadonlySet<string> = new Set<SecretField>(['accessToken', 'grantToken', 'refreshToken']);

export type { KeyMaterial } from '../crypto/parse-keys.js';

/** Options of {@link EncryptedStore}; every one has a default (the keys come from the environment). */
export interface EncryptedStoreOptions {
  /**
   * The keys, by key id (1–32 letters, digits, `_`, `-`): each 32 bytes, as a Buffer/Uint8Array or
   * as base64, base64url or hex text. Or a list in the environment-variable format
   * `"<keyId>:<key>,<keyId>:<key>"` (first = current).
   * @default the list in the environment variable named by `keysEnv`
   */
  keys?: Readonly<Record<string, KeyMaterial>> | string;
  /**
   * The key id that encrypts new values; the other keys only decrypt (and are tried by lookups).
   * Required when `keys` is an object with several keys.
   * @default the only key of `keys`, or the first entry of a key list
   */
  currentKeyId?: string;
  /**
   * The environment variable holding the key list when `keys` is not given.
   * @default 'ZOHO_TOKEN_STORE_KEYS'
   */
  keysEnv?: string;
  /**
   * The environment to read `keysEnv` from.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Whether a stored value that is not encrypted (written before encryption was enabled) is read
   * as is and found by lookups. `rotateKeys()` encrypts them all; then set `false` so a plaintext
   * value planted in the database is refused (DECRYPTION_FAILED) instead of trusted, and lookups
   * skip the plaintext probe.
   * @default true
   */
  acceptPlaintext?: boolean;
  /**
   * Whether `close()` also closes the wrapped store. Pass `false` when the inner store is shared
   * and closed by its owner.
   * @default true
   */
  ownsStore?: boolean;
}

/** Options of {@link EncryptedStore.rotateKeys}. */
export interface RotateKeysOptions {
  /**
   * How long to wait for a token's refresh lock (`refresh:<id>`, the one ZohoAuth takes) when the
   * inner store has a `lock`, in ms. A token whose lock stays busy is skipped and listed in `failed`.
   * @default 10000
   */
  lockWaitMs?: number;
  /**
   * The lease of that lock in ms, should this process die while re-encrypting one token.
   * @default 30000
   */
  lockLeaseMs?: number;
}

/** What {@link EncryptedStore.rotateKeys} did. */
export interface RotationReport {
  /** Tokens read. */
  scanned: number;
  /** Tokens rewritten: at least one value was under an older key or not encrypted. */
  reencrypted: number;
  /** Tokens whose values were all under the current key already. */
  alreadyCurrent: number;
  /** Values rewritten (up to 4 per token). */
  values: number;
  /** Tokens left as they were, with the error code why: DECRYPTION_FAILED (unknown key, tampered), LOCK_TIMEOUT, TOKEN_CONFLICT. */
  failed: {
    /** The token's id. */
    id: string;
    /** Why it was left. */
    code: ErrorCode;
  }[];
}

/** Which form of a value a lookup tries: encrypted under a key id, or the stored plaintext. */
type Variant = string | { readonly plaintext: true };
const PLAINTEXT: Variant = { plaintext: true };
/** Stands in for the client secret in lookup tokens, which are never saved. */
const PROBE_CLIENT_SECRET = 'zts-probe';

/**
 * A TokenStore that keeps the secret fields of every token encrypted in `store`. Finds by refresh,
 * grant or access token work without decrypting any row; values under an older key or stored in
 * plaintext are still found, and are re-encrypted under the current key when a save touches their
 * row or when `rotateKeys()` runs.
 */
export class EncryptedStore implements TokenStore {
  /** The wrapped store: it only ever sees ciphertexts of the secret fields. */
  readonly store: TokenStore;
  /** The key id that encrypts new values. */
  readonly currentKeyId: string;
  /** The inner store's lock, when it has one (checks this wrapper is open first). */
  readonly lock?: StoreLock;
  readonly #cipher: FieldCipher;
  readonly #variants: readonly Variant[];
  readonly #acceptPlaintext: boolean;
  readonly #ownsStore: boolean;
  readonly #lifecycle = new StoreLifecycle(errors);

  /**
   * Wraps `store`; the keys are read and checked now.
   *
   * @throws `ZohoTokenError` `INVALID_ARGUMENT` when `store` is not a TokenStore, or for missing or
   *   malformed keys or another bad option (`field` names it; never a key).
   */
  constructor(store: TokenStore, options: EncryptedStoreOptions = {}) {
    assertTokenStore(store, errors.name);
    const acceptPlaintext = errors.boolean(options.acceptPlaintext, 'acceptPlaintext', true);
    const ownsStore = errors.boolean(options.ownsStore, 'ownsStore', true);
    const ring = new KeyRing(resolveKeys(options));
    this.store = store;
    this.currentKeyId = ring.currentKeyId;
    this.#cipher = new FieldCipher(ring);
    this.#acceptPlaintext = acceptPlaintext;
    this.#ownsStore = ownsStore;
    this.#variants = acceptPlaintext ? [...ring.keyIds, PLAINTEXT] : ring.keyIds;
    const innerLock = store.lock;
    if (innerLock !== undefined) {
      this.lock = {
        acquire: async (name: string, lockOptions: LockOptions): Promise<LockHandle | null> => {
          this.#lifecycle.assertOpen();
          return innerLock.acquire(name, lockOptions);
        },
      };
    }
  }

  findToken(token: OAuthToken): Promise<OAuthToken | null> {
    return this.#lifecycle.run(async () => {
      const query = snapshotToken(token, 'findToken');
      const keys = matchKeys(query);
      if (keys.length === 0) return null;
      const firstLookup = keys.findIndex((key) => LOOKUP_FIELDS.has(key.field));
      // Ids and user names are not encrypted: one probe gives the answer whatever the keys.
      const variants = firstLookup < 0 || keys[0]!.field === 'id' ? this.#variants.slice(0, 1) : this.#variants;
      let best: OAuthToken | null = null;
      let bestRank = Infinity;
      for (const variant of variants) {
        const probe = this.#probe(query, variant, false);
        if (probe === null) continue;
        const found = await this.store.findToken(probe);
        if (found === null) continue;
        const plain = this.#decryptToken(found);
        // Each probe only sees the rows under its variant: keep the hit of the highest-precedence key.
        const rank = rankOf(keys, plain);
        if (rank >= 0 && rank < bestRank) {
          best = plain;
          bestRank = rank;
        }
        if (bestRank <= firstLookup) break;
      }
      return best;
    });
  }

  saveToken(token: OAuthToken): Promise<void> {
    return this.#lifecycle.run(async () => {
      const snapshot = snapshotToken(token, 'saveToken');
      await this.#moveOlderRows(snapshot);
      const encrypted = this.#encryptToken(snapshot);
      await this.store.saveToken(encrypted);
      token.id = encrypted.id;
    });
  }

  /**
   * Encrypts the tokens and hands them to the inner store's `saveTokens` (token by token when it
   * has none), so the batch is one transaction or pipeline there; rules as `saveToken`.
   */
  saveTokens(tokens: readonly OAuthToken[]): Promise<void> {
    return this.#lifecycle.run(async () => {
      const snapshots = snapshotBatch(tokens);
      for (const snapshot of snapshots) await this.#moveOlderRows(snapshot);
      const encrypted = snapshots.map((snapshot) => this.#encryptToken(snapshot));
      try {
        await saveTokensOf(this.store, encrypted);
      } finally {
        // The ids of the tokens saved before a refusal are set too.
        encrypted.forEach((copy, i) => {
          if (copy.id) tokens[i]!.id = copy.id;
        });
      }
    });
  }

  /** The inner store's tokens with these ids, decrypted; see {@link TokenStore.findTokensById}. */
  findTokensById(ids: readonly string[]): Promise<(OAuthToken | null)[]> {
    return this.#lifecycle.run(async () => {
      return (await findTokensById(this.store, ids)).map((token) => token && this.#decryptToken(token));
    });
  }

  /** The inner store's pages, decrypted; see {@link TokenStore.iterateTokens}. */
  async *iterateTokens(options?: IterateTokensOptions): AsyncGenerator<OAuthToken[]> {
    this.#lifecycle.assertOpen();
    for await (const page of iterateTokensOf(this.store, options)) {
      this.#lifecycle.assertOpen();
      yield page.map((token) => this.#decryptToken(token));
    }
  }

  /**
   * Rows the token's keys hit under an older key or in plaintext would be invisible to the inner
   * store's matching (a duplicate insert, a missed conflict): moves them to the current key first.
   */
  async #moveOlderRows(snapshot: OAuthToken): Promise<void> {
    for (const variant of this.#variants.slice(1)) {
      const probe = this.#probe(snapshot, variant, true);
      if (probe === null) continue;
      // Each pass moves one row to the current key; a token has at most 3 lookup keys.
      for (let pass = 0; pass < 3; pass++) {
        const found = await this.store.findToken(probe);
        if (found === null || (await this.#reencrypt(found)) === 0) break;
      }
    }
  }

  deleteToken(id: string): Promise<void> {
    return this.#lifecycle.run(async () => {
      await this.store.deleteToken(id);
    });
  }

  getTokens(): Promise<OAuthToken[]> {
    return this.#lifecycle.run(async () => {
      return (await this.store.getTokens()).map((token) => this.#decryptToken(token));
    });
  }

  deleteTokens(): Promise<void> {
    return this.#lifecycle.run(async () => {
      await this.store.deleteTokens();
    });
  }

  findTokenById(id: string): Promise<OAuthToken | null> {
    return this.#lifecycle.run(async () => {
      const found = await this.store.findTokenById(id);
      return found && this.#decryptToken(found);
    });
  }

  /** The inner store's `ready()`, when it has one. */
  ready(): Promise<void> {
    return this.#lifecycle.run(async () => void (await this.store.ready?.()));
  }

  /** `close()`, for `await using store = …`: the store is closed when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Closes the wrapper, and the inner store when `ownsStore` (the default). Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close(() => (this.#ownsStore ? this.store.close() : undefined));
  }

  /**
   * Re-encrypts every stored value that is under an older key or not encrypted, under the current
   * key. Idempotent: values already under the current key are recognized by their key id and left
   * alone, so a run interrupted midway is finished by running it again. Each token is re-read and
   * rewritten under its refresh lock (when the inner store has locks), and only its stale fields
   * are written, so concurrent refreshes are not undone. Once `failed` is empty and every process
   * uses the new configuration, the older keys can be removed.
   */
  rotateKeys(options: RotateKeysOptions = {}): Promise<RotationReport> {
    return this.#lifecycle.run(async () => {
      const lockWaitMs = options.lockWaitMs ?? 10_000;
      const lockLeaseMs = options.lockLeaseMs ?? 30_000;
      const report: RotationReport = { scanned: 0, reencrypted: 0, alreadyCurrent: 0, values: 0, failed: [] };
      for (const listed of await this.store.getTokens()) {
        // close() waits for calls in flight: a rotation stops at the next token rather than hold it up.
        this.#lifecycle.assertOpen();
        report.scanned++;
        const id = listed.id!;
        try {
          if (this.#staleFields(listed).length === 0) {
            report.alreadyCurrent++;
            continue;
          }
          await withStoreLock(
            this.store,
            refreshLockName(id),
            { leaseMs: lockLeaseMs, waitMs: lockWaitMs, log: silentLogger },
            async () => {
              // Re-read under the lock: the row may have changed (or gone) since the listing.
              const fresh = await this.store.findTokenById(id);
              const values = fresh === null ? 0 : await this.#reencrypt(fresh);
              if (values > 0) report.reencrypted++;
              else report.alreadyCurrent++;
              report.values += values;
            },
            async () => void report.failed.push({ id, code: ErrorCode.LOCK_TIMEOUT }),
          );
        } catch (error) {
          const code = isZohoTokenError(error) ? error.code : undefined;
          if (code !== ErrorCode.DECRYPTION_FAILED && code !== ErrorCode.TOKEN_CONFLICT) throw error;
          report.failed.push({ id, code });
        }
      }
      return report;
    });
  }

  /** The token with every secret field encrypted under the current key. */
  #encryptToken(token: OAuthToken): OAuthToken {
    const init = token.toInit();
    for (const field of SECRET_FIELDS) {
      const value = init[field];
      if (typeof value === 'string') init[field] = this.#cipher.encrypt(field, value);
    }
    return new OAuthToken(init);
  }

  /**
   * A lookup token for one variant, or null when it could find nothing the current-key probe did
   * not. `lookupOnly` drops the id and user (unencrypted keys the inner store matches anyway).
   */
  #probe(token: OAuthToken, variant: Variant, lookupOnly: boolean): OAuthToken | null {
    const init: OAuthTokenInit = token.toInit();
    if (lookupOnly) {
      init.id = undefined;
      init.userSignature = undefined;
    }
    const keyFields = new Set<string>(matchKeys(token).map((key) => key.field));
    for (const field of SECRET_FIELDS) {
      const value = init[field];
      if (typeof value !== 'string') continue;
      // A find never compares the other secret fields: spare their encryption. The client secret
      // only has to stay non-empty (it decides whether an access token is a key, and validity).
      if (!keyFields.has(field)) init[field] = field === 'clientSecret' ? PROBE_CLIENT_SECRET : undefined;
      else if (typeof variant === 'string') init[field] = this.#cipher.encrypt(field, value, variant);
      // A stored plaintext never looks encrypted (it would be read as a ciphertext): no match.
      else if (isEncryptedValue(value)) init[field] = null;
    }
    let probe: OAuthToken;
    try {
      probe = new OAuthToken(init);
    } catch {
      return null;
    }
    const current = variant === this.#variants[0];
    return current || matchKeys(probe).some((key) => LOOKUP_FIELDS.has(key.field)) ? probe : null;
  }

  /** Decrypts one stored value; plaintext when allowed. Errors name the token and field only. */
  #open(id: string | null | undefined, field: SecretField, value: string): { plaintext: string; keyId: string | null } {
    if (!isEncryptedValue(value)) {
      if (this.#acceptPlaintext) return { plaintext: value, keyId: null };
      throw decryptionFailed(id, field, 'the value is not encrypted and acceptPlaintext is false');
    }
    const result = this.#cipher.decrypt(field, value);
    if (!result.ok) throw decryptionFailed(id, field, result.reason);
    return result;
  }

  #decryptToken(stored: OAuthToken): OAuthToken {
    const init = stored.toInit();
    for (const field of SECRET_FIELDS) {
      const value = init[field];
      if (typeof value === 'string') init[field] = this.#open(stored.id, field, value).plaintext;
    }
    try {
      return new OAuthToken(init);
    } catch (error) {
      throw new ZohoTokenError(
        ErrorCode.CORRUPT_RECORD,
        `Stored token ${JSON.stringify(stored.id)} is not a valid token once decrypted`,
        {
          cause: error,
        },
      );
    }
  }

  /** The secret fields of a stored token that are not under the current key, with their plaintext. */
  #staleFields(stored: OAuthToken): [SecretField, string][] {
    const stale: [SecretField, string][] = [];
    for (const field of SECRET_FIELDS) {
      const value = stored[field];
      if (typeof value !== 'string') continue;
      const { plaintext, keyId } = this.#open(stored.id, field, value);
      if (keyId !== this.currentKeyId) stale.push([field, plaintext]);
    }
    return stale;
  }

  /** Rewrites only the stale fields of one stored token; returns how many. */
  async #reencrypt(stored: OAuthToken): Promise<number> {
    const stale = this.#staleFields(stored);
    if (stale.length === 0) return 0;
    const init: OAuthTokenInit = { id: stored.id };
    for (const [field, plaintext] of stale) init[field] = this.#cipher.encrypt(field, plaintext);
    if (init.grantToken !== undefined || init.refreshToken !== undefined) {
      // A token with a grant or refresh token must carry its client credentials to be valid.
      init.clientId = stored.clientId;
      init.clientSecret ??= stored.clientSecret;
    }
    await this.store.saveToken(new OAuthToken(init));
    return stale.length;
  }
}

/** Wraps `store` so that its secret fields are encrypted at rest. See {@link EncryptedStore}. */
export function withEncryption(store: TokenStore, options: EncryptedStoreOptions = {}): EncryptedStore {
  return new EncryptedStore(store, options);
}

function decryptionFailed(id: string | null | undefined, field: SecretField, reason: string): ZohoTokenError {
  return new ZohoTokenError(
    ErrorCode.DECRYPTION_FAILED,
    `Cannot decrypt the ${field} of stored token ${JSON.stringify(id ?? null)}: ${reason}`,
    {
      field,
    },
  );
}

/** Index of the first key (by precedence) that the decrypted token satisfies, or -1. */
function rankOf(keys: readonly MatchKey[], token: OAuthToken): number {
  const record: TokenRecord = {
    id: token.id ?? '',
    userName: token.userName,
    clientId: token.clientId ?? null,
    clientSecret: token.clientSecret ?? null,
    refreshToken: token.refreshToken ?? null,
    accessToken: token.accessToken ?? null,
    grantToken: token.grantToken ?? null,
    expiresAt: token.expiresAt ?? null,
    redirectUrl: token.redirectUrl ?? null,
    apiDomain: token.apiDomain ?? null,
    accountsUrl: token.accountsUrl ?? null,
  };
  return keys.findIndex((key) => keyMatches(key, record));
}
