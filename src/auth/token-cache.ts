import type { OAuthToken } from '../token/oauth-token.js';

/** What an API call needs from a token: cheap to hand out, frozen, no refresh token or client secret. */
export interface AccessCredentials {
  /** The store's id of the token. */
  readonly id: string;
  /** The Zoho user (email), or null when the token was saved without one. */
  readonly user: string | null;
  /** Sent as `Authorization: Zoho-oauthtoken <accessToken>`. */
  readonly accessToken: string;
  /** The token's own API domain (`https://www.zohoapis.eu`): calls go there and nowhere else. */
  readonly apiDomain: string;
  /** When the access token expires, epoch ms. */
  readonly expiresAt: number;
}

export interface CacheEntry {
  readonly creds: AccessCredentials;
  /** Served from memory while `now < refreshAt`. */
  readonly refreshAt: number;
  /** A private copy of the stored token; hand out copies only. */
  readonly token: OAuthToken;
}

/**
 * The in-memory cache of one ZohoAuth: the last valid token of each user and id it served. A hit
 * is two Map lookups and a comparison; misses go to the store. Entries are only trusted until
 * `refreshAt`; revocations by other processes surface as a 401, which drops the entry.
 */
export class TokenCache {
  readonly #byUser = new Map<string, CacheEntry>();
  readonly #byId = new Map<string, CacheEntry>();
  readonly #maxEntries: number;

  /** @param maxEntries tokens kept at most; the least recently stored are dropped first (a miss costs one store read). */
  constructor(maxEntries = 10_000) {
    this.#maxEntries = maxEntries;
  }

  /** The hot path: a fresh entry for `who`, or undefined. Never throws, whatever `who` is. */
  lookup(who: unknown, now: number): CacheEntry | undefined {
    if (typeof who !== 'object' || who === null) return undefined;
    const ref = who as { user?: unknown; id?: unknown; userName?: unknown };
    let entry: CacheEntry | undefined;
    if (typeof ref.user === 'string') entry = this.#byUser.get(ref.user);
    else if (typeof ref.id === 'string') entry = this.#byId.get(ref.id);
    // An OAuthToken without an id: by its user name.
    else if (typeof ref.userName === 'string') entry = this.#byUser.get(ref.userName);
    return entry !== undefined && entry.refreshAt > now ? entry : undefined;
  }

  put(
    token: OAuthToken & { id: string; accessToken: string; expiresAt: number },
    apiDomain: string,
    refreshAt: number,
  ): CacheEntry {
    const user = token.userName;
    const creds: AccessCredentials = Object.freeze({
      id: token.id,
      user,
      accessToken: token.accessToken,
      apiDomain,
      expiresAt: token.expiresAt,
    });
    const entry: CacheEntry = Object.freeze({ creds, refreshAt, token });
    this.#forgetOthers(token.id, user);
    this.#byId.delete(token.id); // re-inserted last: Map order is the eviction order
    this.#byId.set(token.id, entry);
    if (user !== null) this.#byUser.set(user, entry);
    // A server of many users must not keep every token it ever served (secrets included) forever.
    while (this.#byId.size > this.#maxEntries) this.forget(this.#byId.keys().next().value!);
    return entry;
  }

  /** Drops everything cached for token `id`. */
  forget(id: string): void {
    const entry = this.#byId.get(id);
    this.#byId.delete(id);
    if (entry?.creds.user != null && this.#byUser.get(entry.creds.user) === entry)
      this.#byUser.delete(entry.creds.user);
  }

  clear(): void {
    this.#byId.clear();
    this.#byUser.clear();
  }

  /** A user now stored under another id (re-login), or an id now holding another user: drop the stale pairing. */
  #forgetOthers(id: string, user: string | null): void {
    const previousOfUser = user === null ? undefined : this.#byUser.get(user);
    if (previousOfUser !== undefined && previousOfUser.creds.id !== id) this.#byId.delete(previousOfUser.creds.id);
    const previousOfId = this.#byId.get(id);
    if (previousOfId?.creds.user != null && previousOfId.creds.user !== user)
      this.#byUser.delete(previousOfId.creds.user);
  }
}
