import { createHash } from 'node:crypto';
import type { EmulatorClock } from './clock.js';
import { newTokenString } from './ids.js';
import { invalid } from './invalid-argument.js';
import type { EmulatorClient, ResolvedOptions } from './options.js';
import type { StatsRecorder } from './stats.js';

/** OAuth error bodies the token endpoint can answer (as `{"error": …}`). */
export type OAuthError =
  | 'invalid_code'
  | 'invalid_client'
  | 'invalid_client_secret'
  | 'invalid_redirect_uri'
  | 'unsupported_grant_type'
  | 'invalid_request'
  | 'Access Denied';

export interface ClientRecord {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
  /** Home data center: where its codes are issued unless another enabled one is named. */
  readonly dc: string;
  /** Shown on the consent page. */
  readonly name: string;
  /** Data centers the client is enabled in (Zoho's multi-DC setting), `dc` first. */
  readonly dataCenters: readonly string[];
}

interface CodeRecord {
  readonly clientId: string;
  readonly user: string;
  readonly scopes: readonly string[];
  readonly dc: string;
  readonly offline: boolean;
  /** undefined for Self Client codes, which are exchanged without a redirect URI. */
  readonly redirectUri: string | undefined;
  readonly forceConsent: boolean;
  readonly expiresAt: number;
}

interface RefreshRecord {
  readonly token: string;
  readonly clientId: string;
  readonly user: string;
  readonly scopes: readonly string[];
  readonly dc: string;
  readonly createdAt: number;
  /** Times of refresh-grant mints, oldest first (the throttle's sliding window). */
  mints: number[];
  /** Access tokens minted from it, oldest first (may contain dead ones until pruned). */
  live: string[];
}

interface AccessRecord {
  readonly token: string;
  readonly clientId: string;
  readonly user: string;
  readonly scopes: readonly string[];
  readonly dc: string;
  readonly issuedAt: number;
  expiresAt: number;
  readonly refreshToken: string | undefined;
}

/** What a successful grant/refresh yields; the HTTP layer turns it into Zoho's JSON. */
export interface MintedTokens {
  readonly accessToken: string;
  readonly refreshToken?: string;
  readonly scopes: readonly string[];
  readonly lifetimeMs: number;
}

export type TokenOutcome =
  | { readonly ok: true; readonly tokens: MintedTokens }
  | { readonly ok: false; readonly error: OAuthError; readonly retryAfterMs?: number };

export type CodeOutcome =
  { readonly ok: true; readonly code: string } | { readonly ok: false; readonly retryAfterMs: number };

/** Public view of a token, for tests. */
export interface TokenInfo {
  /** Which kind of token it is. */
  readonly type: 'access' | 'refresh';
  /** The client it was issued to. */
  readonly clientId: string;
  /** The user (email) it acts as. */
  readonly user: string;
  /** The scopes granted with it. */
  readonly scopes: readonly string[];
  /** The data center (location) that issued it. */
  readonly dc: string;
  /** When it was minted, epoch ms on the emulator clock. */
  readonly issuedAt: number;
  /** Access tokens only. */
  readonly expiresAt?: number;
  /** Access tokens minted from a refresh token only. */
  readonly refreshToken?: string;
}

/** A live token as the admin API lists it: never its value. */
export interface ListedToken {
  /** First 16 hex digits of the token's SHA-256 (`tokenId`): names it without revealing it. */
  readonly id: string;
  readonly type: 'access' | 'refresh';
  readonly clientId: string;
  readonly user: string;
  readonly dc: string;
  readonly scopes: readonly string[];
  readonly issuedAt: number;
  /** Access tokens only. */
  readonly expiresAt?: number;
  /** Access tokens minted from a refresh token: that refresh token's id. */
  readonly refreshTokenId?: string;
  /** Refresh tokens only: refresh-grant mints in the current throttle window. */
  readonly throttleWindowMints?: number;
}

/** The id a token is listed under: a digest, so a listing cannot be replayed as a token. */
export function tokenId(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

export type AccessCheck =
  | { readonly ok: true; readonly user: string; readonly scopes: readonly string[]; readonly clientId: string }
  | { readonly ok: false; readonly reason: 'dead' | 'wrong_dc' };

export interface IssueCodeRequest {
  readonly clientId: string;
  /** The data center issuing the code (one the client is enabled in). @default the client's home `dc` */
  readonly dc?: string;
  readonly user: string;
  readonly scopes: readonly string[];
  readonly offline: boolean;
  readonly redirectUri: string | undefined;
  readonly forceConsent: boolean;
  readonly lifetimeMs: number;
}

/**
 * Clients, grant codes and tokens of one emulator instance, with Zoho's limits. Pure logic on the
 * emulator clock: no HTTP here, so every rule is testable and shared by all data centers.
 */
export class OAuthState {
  readonly #clients = new Map<string, ClientRecord>();
  readonly #codes = new Map<string, CodeRecord>();
  readonly #refresh = new Map<string, RefreshRecord>();
  readonly #access = new Map<string, AccessRecord>();
  /** Refresh tokens by user+client, oldest first (for the per-user cap and first-consent rule). */
  readonly #refreshByGrant = new Map<string, string[]>();
  /** Code issue times by client (for the grant-code cap). */
  readonly #codeIssues = new Map<string, number[]>();
  #mintsSinceSweep = 0;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly clock: EmulatorClock,
    private readonly stats: StatsRecorder,
  ) {}

  // --- clients ---------------------------------------------------------------------------------

  addClient(client: EmulatorClient): ClientRecord {
    if (typeof client.clientId !== 'string' || client.clientId === '')
      throw invalid('clientId', 'clientId must be a non-empty string');
    if (typeof client.clientSecret !== 'string' || client.clientSecret === '') {
      throw invalid('clientSecret', 'clientSecret must be a non-empty string');
    }
    const enabled = client.dataCenters;
    if (enabled !== undefined && (!Array.isArray(enabled) || enabled.length === 0))
      throw invalid('dataCenters', "a client's dataCenters must list at least one data center");
    const dc = client.dc ?? enabled?.[0] ?? this.options.defaultDataCenter;
    if (!this.options.dataCenters.includes(dc))
      throw invalid('dc', `client dc "${dc}" is not one of the emulator's dataCenters`);
    if (client.name !== undefined && (typeof client.name !== 'string' || client.name.trim() === ''))
      throw invalid('name', 'name must be a non-empty string');
    for (const other of enabled ?? []) {
      if (!this.options.dataCenters.includes(other))
        throw invalid('dataCenters', `client data center "${String(other)}" is not one of the emulator's dataCenters`);
    }
    const dataCenters = [...new Set([dc, ...(enabled ?? [])])];
    const redirectUris = [...(client.redirectUris ?? [])];
    for (const uri of redirectUris) {
      if (!URL.canParse(uri)) throw invalid('redirectUris', 'every redirect URI must be an absolute URL');
    }
    const record: ClientRecord = Object.freeze({
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      redirectUris,
      dc,
      dataCenters,
      name: client.name?.trim() ?? client.clientId,
    });
    this.#clients.set(record.clientId, record);
    return record;
  }

  client(clientId: string): ClientRecord | undefined {
    return this.#clients.get(clientId);
  }

  clients(): ClientRecord[] {
    return [...this.#clients.values()];
  }

  // --- grant codes -----------------------------------------------------------------------------

  /** Whether the client may get another code now; if not, how long until it may. */
  codeBudget(clientId: string): { ok: true } | { ok: false; retryAfterMs: number } {
    const now = this.clock.now();
    const { grantCodesPerWindow, grantCodeWindowMs } = this.options.limits;
    const issues = pruneWindow(this.#codeIssues.get(clientId) ?? [], now - grantCodeWindowMs);
    this.#codeIssues.set(clientId, issues);
    if (issues.length < grantCodesPerWindow) return { ok: true };
    return { ok: false, retryAfterMs: issues[0]! + grantCodeWindowMs - now };
  }

  issueCode(request: IssueCodeRequest): CodeOutcome {
    const client = this.#clients.get(request.clientId);
    if (client === undefined) throw invalid('clientId', 'unknown clientId');
    const budget = this.codeBudget(client.clientId);
    if (!budget.ok) return budget;
    const now = this.clock.now();
    this.#pruneCodes(now);
    const dc = request.dc ?? client.dc;
    if (!client.dataCenters.includes(dc)) throw invalid('dc', `the client is not enabled in data center "${dc}"`);
    const code = newTokenString();
    this.#codes.set(code, {
      clientId: client.clientId,
      user: request.user,
      scopes: [...request.scopes],
      dc,
      offline: request.offline,
      redirectUri: request.redirectUri,
      forceConsent: request.forceConsent,
      expiresAt: now + request.lifetimeMs,
    });
    this.#codeIssues.get(client.clientId)!.push(now);
    this.stats.add('codesIssued');
    return { ok: true, code };
  }

  // --- token endpoint --------------------------------------------------------------------------

  /** Client authentication shared by both grants. */
  checkClient(clientId: string | undefined, secret: string | undefined, dc: string): OAuthError | ClientRecord {
    if (clientId === undefined || clientId === '') return 'invalid_request';
    const client = this.#clients.get(clientId);
    if (client === undefined || !client.dataCenters.includes(dc)) return 'invalid_client';
    if (secret === undefined || secret === '') return 'invalid_request';
    return client.clientSecret === secret ? client : 'invalid_client_secret';
  }

  /** Code exchange at data center `dc`: a code is known only where it was issued. */
  exchangeCode(client: ClientRecord, code: string, redirectUri: string | undefined, dc: string): TokenOutcome {
    const now = this.clock.now();
    const record = this.#codes.get(code);
    if (record !== undefined && record.dc !== dc) return { ok: false, error: 'invalid_code' };
    if (record === undefined || record.clientId !== client.clientId || record.expiresAt <= now) {
      if (record !== undefined && record.expiresAt <= now) this.#codes.delete(code);
      return { ok: false, error: 'invalid_code' };
    }
    // A wrong redirect URI does not burn the code: the caller may retry with the right one.
    if (record.redirectUri !== undefined && redirectUri !== record.redirectUri)
      return { ok: false, error: 'invalid_redirect_uri' };
    this.#codes.delete(code);

    let refreshToken: string | undefined;
    if (record.offline && this.#wantsRefreshToken(record)) refreshToken = this.#issueRefreshToken(record, now);
    const accessToken = this.#mintAccess(
      record,
      now,
      refreshToken === undefined ? undefined : this.#refresh.get(refreshToken),
    );
    return {
      ok: true,
      tokens: {
        accessToken,
        ...(refreshToken === undefined ? {} : { refreshToken }),
        scopes: record.scopes,
        lifetimeMs: this.options.accessTokenLifetimeMs,
      },
    };
  }

  /** Refresh at data center `dc`: each data center knows only the refresh tokens it issued. */
  refresh(client: ClientRecord, refreshToken: string, dc: string): TokenOutcome {
    const record = this.#refresh.get(refreshToken);
    if (record === undefined || record.clientId !== client.clientId || record.dc !== dc) {
      return { ok: false, error: 'invalid_code' };
    }
    const now = this.clock.now();
    const { mintsPerWindow, mintWindowMs } = this.options.limits;
    record.mints = pruneWindow(record.mints, now - mintWindowMs);
    if (record.mints.length >= mintsPerWindow) {
      return { ok: false, error: 'Access Denied', retryAfterMs: record.mints[0]! + mintWindowMs - now };
    }
    record.mints.push(now);
    const accessToken = this.#mintAccess(record, now, record);
    return { ok: true, tokens: { accessToken, scopes: record.scopes, lifetimeMs: this.options.accessTokenLifetimeMs } };
  }

  /** Revokes a refresh token known at data center `dc` and kills its access tokens. */
  revoke(token: string, dc: string): boolean {
    const record = this.#refresh.get(token);
    if (record === undefined || record.dc !== dc) return false;
    this.#deleteRefresh(record);
    return true;
  }

  // --- API -------------------------------------------------------------------------------------

  checkAccess(token: string, dc: string): AccessCheck {
    const record = this.#access.get(token);
    if (record === undefined) return { ok: false, reason: 'dead' };
    if (record.expiresAt <= this.clock.now()) {
      this.#access.delete(token);
      return { ok: false, reason: 'dead' };
    }
    if (record.dc !== dc) return { ok: false, reason: 'wrong_dc' };
    return { ok: true, user: record.user, scopes: record.scopes, clientId: record.clientId };
  }

  // --- introspection for tests -----------------------------------------------------------------

  liveAccessTokens(refreshToken: string): number {
    const record = this.#refresh.get(refreshToken);
    if (record === undefined) return 0;
    record.live = this.#pruneLive(record.live);
    return record.live.length;
  }

  /** Refresh tokens currently valid for a user+client, oldest first. */
  refreshTokensOf(clientId: string, user: string): string[] {
    return [...(this.#refreshByGrant.get(grantKey(clientId, user)) ?? [])];
  }

  tokenInfo(token: string): TokenInfo | undefined {
    const refresh = this.#refresh.get(token);
    if (refresh !== undefined) {
      const { clientId, user, scopes, dc, createdAt } = refresh;
      return { type: 'refresh', clientId, user, scopes: [...scopes], dc, issuedAt: createdAt };
    }
    const access = this.#access.get(token);
    if (access === undefined || access.expiresAt <= this.clock.now()) return undefined;
    const { clientId, user, scopes, dc, issuedAt, expiresAt, refreshToken } = access;
    return {
      type: 'access',
      clientId,
      user,
      scopes: [...scopes],
      dc,
      issuedAt,
      expiresAt,
      ...(refreshToken === undefined ? {} : { refreshToken }),
    };
  }

  /**
   * Every valid refresh token and unexpired access token, oldest first, each named by a digest
   * (`id`) instead of its value: a listing never hands out a usable token.
   */
  listTokens(): ListedToken[] {
    const now = this.clock.now();
    const out: ListedToken[] = [];
    for (const r of this.#refresh.values()) {
      out.push({
        id: tokenId(r.token),
        type: 'refresh',
        clientId: r.clientId,
        user: r.user,
        dc: r.dc,
        scopes: [...r.scopes],
        issuedAt: r.createdAt,
        throttleWindowMints: pruneWindow(r.mints, now - this.options.limits.mintWindowMs).length,
      });
    }
    for (const a of this.#access.values()) {
      if (a.expiresAt <= now) continue;
      out.push({
        id: tokenId(a.token),
        type: 'access',
        clientId: a.clientId,
        user: a.user,
        dc: a.dc,
        scopes: [...a.scopes],
        issuedAt: a.issuedAt,
        expiresAt: a.expiresAt,
        ...(a.refreshToken === undefined ? {} : { refreshTokenId: tokenId(a.refreshToken) }),
      });
    }
    return out.sort((x, y) => x.issuedAt - y.issuedAt);
  }

  /** Makes every access token expired now (refresh tokens stay valid). Returns how many. */
  expireAccessTokens(): number {
    const now = this.clock.now();
    let count = 0;
    for (const record of this.#access.values()) {
      if (record.expiresAt > now) {
        record.expiresAt = now;
        count++;
      }
    }
    return count;
  }

  /** Revokes every refresh token and kills every access token. Returns how many refresh tokens. */
  revokeAll(): number {
    const count = this.#refresh.size;
    this.#refresh.clear();
    this.#refreshByGrant.clear();
    this.#access.clear();
    return count;
  }

  // --- internals -------------------------------------------------------------------------------

  /**
   * Zoho issues a refresh token on first consent only. "First" is read as: the user+client holds
   * no valid refresh token right now (so revoking everything makes the next consent "first").
   * Self Client codes always yield one; `prompt=consent` forces one.
   */
  #wantsRefreshToken(code: CodeRecord): boolean {
    if (code.redirectUri === undefined || code.forceConsent || this.options.refreshTokenOnEveryConsent) return true;
    return (this.#refreshByGrant.get(grantKey(code.clientId, code.user))?.length ?? 0) === 0;
  }

  #issueRefreshToken(code: CodeRecord, now: number): string {
    const key = grantKey(code.clientId, code.user);
    let list = this.#refreshByGrant.get(key) ?? [];
    while (list.length >= this.options.limits.refreshTokensPerUserClient) {
      const oldest = this.#refresh.get(list[0]!);
      if (oldest === undefined) {
        list = list.slice(1);
        continue;
      }
      this.#deleteRefresh(oldest);
      this.stats.add('refreshTokensEvicted');
      list = this.#refreshByGrant.get(key) ?? [];
    }
    const token = newTokenString();
    this.#refresh.set(token, {
      token,
      clientId: code.clientId,
      user: code.user,
      scopes: code.scopes,
      dc: code.dc,
      createdAt: now,
      mints: [],
      live: [],
    });
    list.push(token);
    this.#refreshByGrant.set(key, list);
    this.stats.add('refreshTokensIssued');
    return token;
  }

  #mintAccess(
    grant: Pick<CodeRecord, 'clientId' | 'user' | 'scopes' | 'dc'>,
    now: number,
    parent: RefreshRecord | undefined,
  ): string {
    if (parent !== undefined) {
      parent.live = this.#pruneLive(parent.live);
      while (parent.live.length >= this.options.limits.liveAccessTokensPerRefreshToken) {
        this.#access.delete(parent.live.shift()!);
        this.stats.add('accessTokensEvicted');
      }
    }
    const token = newTokenString();
    this.#access.set(token, {
      token,
      clientId: grant.clientId,
      user: grant.user,
      scopes: grant.scopes,
      dc: grant.dc,
      issuedAt: now,
      expiresAt: now + this.options.accessTokenLifetimeMs,
      refreshToken: parent?.token,
    });
    parent?.live.push(token);
    this.stats.add('accessTokensIssued');
    if (++this.#mintsSinceSweep >= 1000) this.#sweep(now);
    return token;
  }

  #deleteRefresh(record: RefreshRecord): void {
    for (const access of record.live) this.#access.delete(access);
    this.#refresh.delete(record.token);
    const key = grantKey(record.clientId, record.user);
    const list = (this.#refreshByGrant.get(key) ?? []).filter((t) => t !== record.token);
    if (list.length === 0) this.#refreshByGrant.delete(key);
    else this.#refreshByGrant.set(key, list);
  }

  #pruneLive(live: readonly string[]): string[] {
    const now = this.clock.now();
    return live.filter((t) => {
      const record = this.#access.get(t);
      return record !== undefined && record.expiresAt > now;
    });
  }

  #pruneCodes(now: number): void {
    for (const [code, record] of this.#codes) if (record.expiresAt <= now) this.#codes.delete(code);
  }

  /** Drops expired access tokens now and then, so a long-running emulator does not grow forever. */
  #sweep(now: number): void {
    this.#mintsSinceSweep = 0;
    for (const [token, record] of this.#access) if (record.expiresAt <= now) this.#access.delete(token);
  }
}

function grantKey(clientId: string, user: string): string {
  return `${clientId}\n${user.toLowerCase()}`;
}

/** Keeps the times strictly after `since` (a time exactly one window old has left the window). */
function pruneWindow(times: readonly number[], since: number): number[] {
  return times.filter((t) => t > since);
}
