import type { ZohoAuthHooks } from '../auth/events.js';
import { ZohoAuth } from '../auth/zoho-auth.js';
import type { Environment } from '../oauth/environment.js';
import { isEncryptedValue } from '../crypto/field-cipher.js';
import { DEFAULT_KEYS_ENV } from '../crypto/parse-keys.js';
import { EncryptedStore } from '../stores/encrypted.js';
import { openStore, type OpenStoreOptions } from '../stores/open-store.js';
import type { TokenStore } from '../stores/kit/token-store.js';
import { OAuthToken } from '../token/oauth-token.js';
import { CliError, usageError } from './cli-error.js';
import { environmentOfToken, parseDataCenter } from './data-center.js';
import { printable, type CliIo, type Output } from './output.js';

export const DEFAULT_STORE_URL = 'sqlite:zohooauth.db';

/** The global options, as commander hands them to every command. */
export interface GlobalOptions {
  store: string;
  dc?: string;
  json?: boolean;
  showSecrets?: boolean;
  verbose?: boolean;
}

/** `<id>` argument or `--user` (+ `--client-id` when the user has tokens of several clients). */
export interface TokenTarget {
  id?: string | undefined;
  user?: string | undefined;
  clientId?: string | undefined;
}

/** What every command needs: output, the stores it opened (closed at exit), the data center. */
export class CliContext {
  readonly out: Output;
  readonly io: CliIo;
  readonly options: GlobalOptions;
  readonly #opened: TokenStore[] = [];
  /** Set by a command that ends without an error but not with success (the emulator's own code). */
  exitCode: number | undefined;

  constructor(io: CliIo, out: Output, options: GlobalOptions) {
    this.io = io;
    this.out = out;
    this.options = options;
  }

  get storeUrl(): string {
    return this.options.store;
  }

  /**
   * Opens a store by URL (default `--store`); closed when the command ends. When the encryption
   * key list (ZOHO_TOKEN_STORE_KEYS) is set, the store is wrapped in EncryptedStore, as the
   * services sharing it are expected to do.
   */
  async openStore(url: string = this.storeUrl, options: OpenStoreOptions = {}): Promise<TokenStore> {
    const inner = await openStore(url, options);
    const store = this.encryptionEnabled ? new EncryptedStore(inner, { env: this.io.env }) : inner;
    this.#opened.push(store);
    return store;
  }

  /**
   * openStore for commands that only use what is stored: a missing `sqlite:`/`file:` store is
   * STORE_NOT_FOUND instead of a new empty file (a mistyped path would otherwise look empty).
   */
  openExistingStore(url: string = this.storeUrl): Promise<TokenStore> {
    return this.openStore(url, { mustExist: true });
  }

  /** A person can be asked: stdin and stderr are terminals (the question goes to stderr). */
  get interactive(): boolean {
    return this.io.prompt !== undefined && this.io.stderrIsTty === true;
  }

  get encryptionEnabled(): boolean {
    return (this.io.env[DEFAULT_KEYS_ENV] ?? '').trim() !== '';
  }

  /** `--dc`, else env ZOHO_DC, else US production. */
  environment(): Environment {
    return parseDataCenter(this.options.dc ?? this.io.env['ZOHO_DC'] ?? 'US');
  }

  /** `--client-id`/`--client-secret`, else ZOHO_CLIENT_ID/ZOHO_CLIENT_SECRET. */
  clientCredentials(flags: { clientId?: string | undefined; clientSecret?: string | undefined }): {
    clientId: string;
    clientSecret: string;
  } {
    const clientId = flags.clientId ?? this.io.env['ZOHO_CLIENT_ID'];
    const clientSecret = flags.clientSecret ?? this.io.env['ZOHO_CLIENT_SECRET'];
    if (!clientId) throw usageError('no client id: pass --client-id or set ZOHO_CLIENT_ID');
    if (!clientSecret) throw usageError('no client secret: pass --client-secret or set ZOHO_CLIENT_SECRET');
    this.out.addSecrets(clientSecret);
    return { clientId, clientSecret };
  }

  /** The stored token named by `<id>` or `--user`, or null. */
  async findToken(store: TokenStore, target: TokenTarget): Promise<OAuthToken | null> {
    checkTarget(target);
    const found =
      target.id !== undefined
        ? await store.findTokenById(target.id)
        : await store.findToken(new OAuthToken({ userSignature: target.user!, clientId: target.clientId ?? null }));
    if (found) this.out.addSecrets(found.clientSecret, found.refreshToken, found.accessToken, found.grantToken);
    return found;
  }

  /** Like findToken, but a missing token is NOT_FOUND. */
  async requireToken(store: TokenStore, target: TokenTarget): Promise<OAuthToken> {
    const token = await this.findToken(store, target);
    if (token === null) throw new CliError('NOT_FOUND', `no stored token for ${describeTarget(target)}`);
    return token;
  }

  /**
   * A ZohoAuth for the client of a stored token, bound to the token's own data center. The client
   * secret: `--client-secret`, else the stored one, else ZOHO_CLIENT_SECRET when ZOHO_CLIENT_ID
   * is unset or names this client.
   */
  authFor(
    store: TokenStore,
    token: OAuthToken,
    flags: { clientSecret?: string | undefined; hooks?: ZohoAuthHooks } = {},
  ): ZohoAuth {
    if (
      !this.encryptionEnabled &&
      [token.refreshToken, token.clientSecret].some((v) => typeof v === 'string' && isEncryptedValue(v))
    ) {
      // Sent to Zoho as is, a ciphertext would be rejected as a revoked token and the row cleared.
      throw usageError(`token ${printable(token.id ?? '?')} is stored encrypted: set ${DEFAULT_KEYS_ENV} to use it`);
    }
    const clientId = token.clientId;
    if (!clientId)
      throw new CliError(
        'NOT_FOUND',
        `token ${printable(token.id ?? '?')} has no client id: it cannot be refreshed or revoked`,
        { exitCode: 1 },
      );
    const envId = this.io.env['ZOHO_CLIENT_ID'];
    const clientSecret =
      flags.clientSecret ??
      token.clientSecret ??
      (envId === undefined || envId === clientId ? this.io.env['ZOHO_CLIENT_SECRET'] : undefined);
    if (!clientSecret)
      throw usageError(`token ${printable(token.id ?? '?')} has no stored client secret: pass --client-secret`);
    this.out.addSecrets(clientSecret);
    const environment = environmentOfToken(token, () => this.environment());
    return new ZohoAuth({
      store,
      environment,
      clientId,
      clientSecret,
      lookupUser: false,
      ...(flags.hooks ? { hooks: flags.hooks } : {}),
    });
  }

  /** Closes every store this command opened; the first failure is reported after all were tried. */
  async close(): Promise<void> {
    const results = await Promise.allSettled(this.#opened.splice(0).map((store) => store.close()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

export function checkTarget(target: TokenTarget): void {
  if ((target.id === undefined) === (target.user === undefined))
    throw usageError('name the token by <id> or by --user <email> (one of them)');
  if (target.id !== undefined && target.clientId !== undefined)
    throw usageError('--client-id only narrows --user; an <id> names one token');
}

export function describeTarget(target: TokenTarget): string {
  if (target.id !== undefined) return `id ${JSON.stringify(target.id)}`;
  return `user ${JSON.stringify(target.user)}${target.clientId ? ` and client ${target.clientId}` : ''}`;
}
