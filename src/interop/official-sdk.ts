/**
 * `zoho-token-store/official-sdk`: any of our stores as the `TokenStore` of the official Zoho CRM
 * TypeScript SDK (`@zohocrm/typescript-sdk-8.0`):
 *
 * ```ts
 * import * as sdk from '@zohocrm/typescript-sdk-8.0';
 * await new sdk.InitializeBuilder().environment(env).token(token).store(officialSdkStore(ourStore, { sdk })).initialize();
 * ```
 *
 * The official package is never imported here: its types are described structurally and the
 * caller hands in its module, whose `OAuthToken` and `UserSignature` classes build the tokens the
 * SDK expects back (it checks `instanceof OAuthToken`). docs/official-sdk.md has the details.
 *
 * @packageDocumentation
 */
import { ErrorCode, ZohoTokenError } from '../errors.js';
import { assertTokenStore } from '../stores/kit/store-errors.js';
import type { TokenStore } from '../stores/kit/token-store.js';
import { OAuthToken, type OAuthTokenInit } from '../token/oauth-token.js';
import { UserSignature } from '../token/user-signature.js';

/** The part of the official SDK's `UserSignature` used here. */
export interface OfficialSdkUserSignature {
  /** The user's name (email, or the SDK's `email:orgId`). */
  name: string;
  /** The user's name. */
  getName(): string;
}

/** The part of the official SDK's `OAuthToken` used here: its getters and setters. */
export interface OfficialSdkOAuthToken {
  /** The store's token id, or `null`. */
  getId(): string | null;
  /** Sets the store's token id. */
  setId(id: string | null): void;
  /** The user, or `null`. */
  getUserSignature(): OfficialSdkUserSignature | null;
  /** Sets the user. */
  setUserSignature(userSignature: OfficialSdkUserSignature | null): void;
  /** The client id, or `null`. */
  getClientId(): string | null;
  /** Sets the client id. */
  setClientId(clientId: string | null): void;
  /** The client secret, or `null`. */
  getClientSecret(): string | null;
  /** Sets the client secret. */
  setClientSecret(clientSecret: string | null): void;
  /** The redirect URI, or `null`. */
  getRedirectURL(): string | null;
  /** Sets the redirect URI. */
  setRedirectURL(redirectURL: string | null): void;
  /** The grant code, or `null`. */
  getGrantToken(): string | null;
  /** Sets the grant code. */
  setGrantToken(grantToken: string | null): void;
  /** The refresh token, or `null`. */
  getRefreshToken(): string | null;
  /** Sets the refresh token. */
  setRefreshToken(refreshToken: string | null): void;
  /** The access token, or `null`. */
  getAccessToken(): string | null;
  /** Sets the access token. */
  setAccessToken(accessToken: string | null): void;
  /** The ABSOLUTE expiry of the access token in epoch ms, as a string (undefined until set). */
  getExpiresIn(): string | null | undefined;
  /** Sets the absolute expiry (epoch ms as a string). */
  setExpiresIn(expiresIn: string): void;
  /** The API domain, or `null`. */
  getAPIDomain(): string | null;
  /** Sets the API domain. */
  setAPIDomain(apiDomain: string | null): void;
}

/** The official SDK's `Environment`: `getAccountsUrl()` is its token endpoint (`…/oauth/v2/token`). */
export interface OfficialSdkEnvironment {
  /** The token endpoint URL of the environment. */
  getAccountsUrl(): string | null | undefined;
}

/**
 * What the adapter needs of the official package: pass its module namespace
 * (`import * as sdk from '@zohocrm/typescript-sdk-8.0'`). `T` is its OAuthToken class.
 */
export interface OfficialSdkModule<T extends OfficialSdkOAuthToken = OfficialSdkOAuthToken> {
  /** The SDK's `OAuthToken` class; the adapter builds the tokens it returns with it. */
  OAuthToken: {
    /** The SDK's constructor, arguments in its order. */
    new (
      clientID: string | null,
      clientSecret: string | null,
      grantToken: string | null,
      refreshToken: string | null,
      redirectURL: string | null,
      id: string | null,
      accessToken: string | null,
      userSignature: OfficialSdkUserSignature | null,
    ): T;
  };
  /** The SDK's `UserSignature` class. */
  UserSignature: {
    /** A user signature of that name. */
    new (name: string): OfficialSdkUserSignature;
  };
  /** Read at save time for the accounts server of the SDK's current environment. Optional. */
  Initializer?: {
    /** The SDK's current initializer, if it has been initialized. */
    getInitializer(): Promise<
      | {
          /** The environment it was initialized with. */
          getEnvironment(): OfficialSdkEnvironment | null | undefined;
        }
      | null
      | undefined
    >;
  };
}

/** The options of {@link officialSdkStore} and `new OfficialSdkTokenStore(store, options)`. */
export interface OfficialSdkStoreOptions<T extends OfficialSdkOAuthToken = OfficialSdkOAuthToken> {
  /** The official package's module: `import * as sdk from '@zohocrm/typescript-sdk-8.0'`. */
  sdk: OfficialSdkModule<T>;
  /**
   * The accounts server (our `accountsUrl`, e.g. `https://accounts.zoho.eu`) recorded on a token
   * the SDK saves when the stored token has none yet; a stored binding is never changed.
   * `undefined` reads it at save time from the SDK's current environment
   * (`Initializer.getInitializer().getEnvironment().getAccountsUrl()` without its
   * `/oauth/v2/token`); `null` records none.
   * @default undefined (from the SDK's environment)
   */
  accountsUrl?: string | null;
  /**
   * The SDK names a user it learned itself (`findUser`, the default when a token has no user)
   * `email:orgId`, while our user key, ZohoAuth and `new UserSignature(email)` use the email. By
   * default such names are saved as the email alone, and a lookup by `email:orgId` that finds
   * nothing is retried with the email. `true` keeps the SDK's names as they are.
   * @default false
   */
  keepOrgIdInUserName?: boolean;
}

/** What the SDK's `Utility.getUserName` builds: the CRM user's email, ':', the org id. */
const SDK_USER_NAME = /^([^\s:@]+@[^\s:@]+):(\d+)$/;

/** The SDK's token endpoint path, appended to the accounts server in its `Environment`s. */
const TOKEN_PATH = /\/oauth\/v2\/token\/?$/;

/**
 * Our {@link TokenStore} behind the official SDK's TokenStore interface (`findToken`,
 * `findTokenById`, `saveToken`, `deleteToken`, `getTokens`, `deleteTokens` over its OAuthToken).
 * Matching, ids and the no-duplicates rule are those of the wrapped store. Errors are our typed
 * `ZohoTokenError`s (the SDK wraps what it needs to); the wrapped store is not closed by it.
 */
export class OfficialSdkTokenStore<T extends OfficialSdkOAuthToken = OfficialSdkOAuthToken> {
  /** The wrapped store: close it when the SDK is done. */
  readonly store: TokenStore;
  readonly #sdk: OfficialSdkModule<T>;
  readonly #accountsUrl: string | null | undefined;
  readonly #keepOrgId: boolean;

  /**
   * @throws `ZohoTokenError` `INVALID_ARGUMENT` (with `field`) when `store` is not a TokenStore,
   *   `sdk` is not the official module, `accountsUrl` is not an http(s) URL, null or undefined, or
   *   `keepOrgIdInUserName` is not a boolean.
   */
  constructor(store: TokenStore, options: OfficialSdkStoreOptions<T>) {
    assertTokenStore(store, 'OfficialSdkTokenStore', false);
    const sdk = options?.sdk as OfficialSdkModule<T> | undefined;
    if (typeof sdk?.OAuthToken !== 'function' || typeof sdk.UserSignature !== 'function') {
      throw invalidArgument(
        'sdk',
        "must be the official SDK's module (import * as sdk from '@zohocrm/typescript-sdk-8.0')",
      );
    }
    const accountsUrl = options.accountsUrl;
    if (accountsUrl != null && (typeof accountsUrl !== 'string' || !isHttpUrl(accountsUrl))) {
      throw invalidArgument('accountsUrl', 'must be an absolute http(s) URL, null or undefined');
    }
    if (options.keepOrgIdInUserName !== undefined && typeof options.keepOrgIdInUserName !== 'boolean') {
      throw invalidArgument('keepOrgIdInUserName', 'must be a boolean');
    }
    this.store = store;
    this.#sdk = sdk;
    this.#keepOrgId = options.keepOrgIdInUserName ?? false;
    this.#accountsUrl = accountsUrl == null ? accountsUrl : accountsUrl.replace(/\/+$/, '');
  }

  /**
   * As the SDK's own stores: the stored token the given one refers to fills the given token's
   * missing (null) fields, and the given token is returned; `null` when nothing matches.
   */
  async findToken(token: object): Promise<T | null> {
    const theirs = asSdkToken(token, 'findToken');
    const probe = probeOf(theirs);
    let found = probe === null ? null : await this.store.findToken(probe);
    const email = this.#keepOrgId ? null : emailOf(probe?.userName);
    if (found === null && email != null) found = await this.store.findToken(probe!.with({ userSignature: email }));
    if (found === null) return null;
    this.#fill(theirs, found);
    return theirs as T;
  }

  /** A new SDK OAuthToken of the stored token with that id, or `null` (the SDK's stores throw). */
  async findTokenById(id: string): Promise<T | null> {
    const found = await this.store.findTokenById(id);
    return found === null ? null : this.#toSdk(found);
  }

  /**
   * Upserts the SDK's token and sets its id. A null field keeps the stored value (the SDK's
   * tokens hold null for "not known"); an empty string clears it (their stores keep '' as null).
   */
  async saveToken(token: object): Promise<void> {
    const theirs = asSdkToken(token, 'saveToken');
    const ours = new OAuthToken(initForSave(theirs));
    if (!this.#keepOrgId) {
      const email = emailOf(ours.userName);
      if (email != null) ours.userSignature = new UserSignature(email);
    }
    const accountsUrl = await this.#sdkAccountsUrl();
    if (accountsUrl !== null) {
      const stored = ours.id ? await this.store.findTokenById(ours.id) : await this.store.findToken(ours);
      if (!stored?.accountsUrl) ours.accountsUrl = accountsUrl;
    }
    await this.store.saveToken(ours);
    if (ours.id && theirs.getId() !== ours.id) theirs.setId(ours.id);
  }

  /** Removes that token; an unknown id is a no-op (the SDK's stores throw). */
  async deleteToken(id: string): Promise<void> {
    await this.store.deleteToken(id);
  }

  /** Every stored token, as new SDK OAuthTokens. */
  async getTokens(): Promise<T[]> {
    return (await this.store.getTokens()).map((token) => this.#toSdk(token));
  }

  /** Removes every stored token. */
  async deleteTokens(): Promise<void> {
    await this.store.deleteTokens();
  }

  /** The accounts server to bind new tokens to, or null when it cannot be known. */
  async #sdkAccountsUrl(): Promise<string | null> {
    if (this.#accountsUrl !== undefined) return this.#accountsUrl;
    const initializer = this.#sdk.Initializer;
    if (typeof initializer?.getInitializer !== 'function') return null;
    let tokenUrl: unknown;
    try {
      tokenUrl = (await initializer.getInitializer())?.getEnvironment()?.getAccountsUrl();
    } catch {
      return null; // not initialized: nothing to learn
    }
    // Only a URL that is the token endpoint says which accounts server it is.
    if (typeof tokenUrl !== 'string' || !TOKEN_PATH.test(tokenUrl)) return null;
    const base = tokenUrl.replace(TOKEN_PATH, '');
    return isHttpUrl(base) ? base : null;
  }

  #toSdk(token: OAuthToken): T {
    const Sdk = this.#sdk;
    const user = token.userName === null ? null : new Sdk.UserSignature(token.userName);
    const theirs = new Sdk.OAuthToken(
      token.clientId ?? null,
      token.clientSecret ?? null,
      token.grantToken ?? null,
      token.refreshToken ?? null,
      token.redirectUrl ?? null,
      token.id ?? null,
      token.accessToken ?? null,
      user,
    );
    if (token.expiresAt != null) theirs.setExpiresIn(String(token.expiresAt));
    theirs.setAPIDomain(token.apiDomain ?? null);
    return theirs;
  }

  /** Sets every field the SDK's token lacks from the stored token (what their `setMergeData` does). */
  #fill(theirs: OfficialSdkOAuthToken, stored: OAuthToken): void {
    if (theirs.getId() == null && stored.id) theirs.setId(stored.id);
    if (theirs.getUserSignature() == null && stored.userName !== null)
      theirs.setUserSignature(new this.#sdk.UserSignature(stored.userName));
    if (theirs.getClientId() == null && stored.clientId) theirs.setClientId(stored.clientId);
    if (theirs.getClientSecret() == null && stored.clientSecret) theirs.setClientSecret(stored.clientSecret);
    if (theirs.getRefreshToken() == null && stored.refreshToken) theirs.setRefreshToken(stored.refreshToken);
    if (theirs.getAccessToken() == null && stored.accessToken) theirs.setAccessToken(stored.accessToken);
    if (theirs.getGrantToken() == null && stored.grantToken) theirs.setGrantToken(stored.grantToken);
    if (theirs.getExpiresIn() == null && stored.expiresAt != null) theirs.setExpiresIn(String(stored.expiresAt));
    if (theirs.getRedirectURL() == null && stored.redirectUrl) theirs.setRedirectURL(stored.redirectUrl);
    if (theirs.getAPIDomain() == null && stored.apiDomain) theirs.setAPIDomain(stored.apiDomain);
  }
}

/** `new OfficialSdkTokenStore(store, options)`: pass the result to `InitializeBuilder.store(…)`. */
export function officialSdkStore<T extends OfficialSdkOAuthToken>(
  store: TokenStore,
  options: OfficialSdkStoreOptions<T>,
): OfficialSdkTokenStore<T> {
  return new OfficialSdkTokenStore(store, options);
}

const GETTERS = [
  'getId',
  'getUserSignature',
  'getClientId',
  'getClientSecret',
  'getRedirectURL',
  'getGrantToken',
  'getRefreshToken',
  'getAccessToken',
  'getExpiresIn',
  'getAPIDomain',
] as const;

function asSdkToken(token: unknown, method: string): OfficialSdkOAuthToken {
  const t = token as Record<string, unknown> | null;
  if (typeof t !== 'object' || t === null || GETTERS.some((getter) => typeof t[getter] !== 'function')) {
    throw invalidArgument('token', `${method} needs the official SDK's OAuthToken`);
  }
  return token as OfficialSdkOAuthToken;
}

/** null/undefined → keep (undefined), '' → clear (null), else the value. */
function forSave(value: string | null | undefined): string | null | undefined {
  if (value == null) return undefined;
  return value === '' ? null : value;
}

function nameOf(user: OfficialSdkUserSignature | null | undefined): string | null | undefined {
  if (user == null) return undefined;
  if (typeof user.getName !== 'function')
    throw new ZohoTokenError(ErrorCode.INVALID_TOKEN, 'userSignature must be a UserSignature', {
      field: 'userSignature',
    });
  const name: unknown = user.getName();
  if (name == null) return undefined;
  if (typeof name !== 'string')
    throw new ZohoTokenError(ErrorCode.INVALID_TOKEN, 'userSignature name must be a string', {
      field: 'userSignature',
    });
  return name === '' ? null : name;
}

/** The SDK's `expiresIn` (absolute epoch ms as a string; read with parseInt by the SDK) as our number. */
function expiryOf(expiresIn: unknown): number | null | undefined {
  if (expiresIn == null) return undefined;
  const text = String(expiresIn).trim();
  if (text === '') return null;
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isSafeInteger(Math.floor(Number(text)))) {
    throw new ZohoTokenError(ErrorCode.INVALID_TOKEN, 'expiresIn must be epoch milliseconds as a string of digits', {
      field: 'expiresIn',
    });
  }
  return Math.floor(Number(text));
}

function initForSave(theirs: OfficialSdkOAuthToken): OAuthTokenInit {
  return {
    id: forSave(theirs.getId()),
    userSignature: nameOf(theirs.getUserSignature()),
    clientId: forSave(theirs.getClientId()),
    clientSecret: forSave(theirs.getClientSecret()),
    redirectUrl: forSave(theirs.getRedirectURL()),
    grantToken: forSave(theirs.getGrantToken()),
    refreshToken: forSave(theirs.getRefreshToken()),
    accessToken: forSave(theirs.getAccessToken()),
    expiresAt: expiryOf(theirs.getExpiresIn()),
    apiDomain: forSave(theirs.getAPIDomain()),
  };
}

/** Our token with the SDK token's keys, or null when it has none (then nothing can match). */
function probeOf(theirs: OfficialSdkOAuthToken): OAuthToken | null {
  const present = (value: string | null | undefined): string | undefined =>
    value == null || value === '' ? undefined : value;
  const clientId = present(theirs.getClientId());
  const clientSecret = present(theirs.getClientSecret());
  // Our rules match grant and refresh tokens only together with the client: without it they are no key.
  const withClient = clientId !== undefined && clientSecret !== undefined;
  const init: OAuthTokenInit = {
    id: present(theirs.getId()),
    userSignature: present(nameOf(theirs.getUserSignature())),
    clientId,
    clientSecret,
    grantToken: withClient ? present(theirs.getGrantToken()) : undefined,
    refreshToken: withClient ? present(theirs.getRefreshToken()) : undefined,
    accessToken: present(theirs.getAccessToken()),
  };
  if (!init.id && !init.userSignature && !init.grantToken && !init.refreshToken && !init.accessToken) return null;
  return new OAuthToken(init);
}

/** The email of an SDK-learned `email:orgId` user name, else null. */
function emailOf(name: string | null | undefined): string | null {
  return (name != null && SDK_USER_NAME.exec(name)?.[1]) || null;
}

function isHttpUrl(value: string): boolean {
  return URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);
}

function invalidArgument(field: string, message: string): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `${field} ${message}`, { field });
}
