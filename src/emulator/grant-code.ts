import { ErrorCode, ZohoTokenError } from '../errors.js';
import type { EmulatorCore } from './core.js';
import { invalid } from './invalid-argument.js';
import { parseScopes } from './scopes.js';

/** Input of the Self Client path. */
export interface GrantCodeRequest {
  /** A client added with the `clients` option or `addClient`. */
  readonly clientId: string;
  /** The user's email. */
  readonly user: string;
  /** Scope list, or Zoho's comma-separated string. */
  readonly scopes: readonly string[] | string;
  /** `offline` yields a refresh token on exchange. @default 'offline' */
  readonly accessType?: 'offline' | 'online';
  /** Code lifetime in ms. @default the `selfClientCodeLifetimeMs` option (3 minutes) */
  readonly expiresInMs?: number;
  /**
   * The data center issuing the code, for a client enabled in several (its tokens then live
   * there only). @default the client's home `dc`
   */
  readonly dc?: string;
}

/** A minted Self Client code and what it grants. */
export interface IssuedGrantCode {
  readonly code: string;
  readonly clientId: string;
  readonly user: string;
  readonly scopes: readonly string[];
  readonly dc: string;
  readonly expiresAt: number;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** True for something shaped like an email (what Zoho's consent needs). */
export function isEmail(value: unknown): value is string {
  return typeof value === 'string' && EMAIL.test(value);
}

/** Self Client: a grant code exchangeable without a redirect URI (shared by `emu` and the admin API). */
export function issueGrantCode(core: EmulatorCore, request: GrantCodeRequest): IssuedGrantCode {
  const client = core.state.client(request.clientId);
  if (client === undefined) throw new ZohoTokenError(ErrorCode.INVALID_CLIENT, 'unknown clientId');
  if (!isEmail(request.user)) throw invalid('user', 'user must be an email');
  if (typeof request.scopes !== 'string' && !Array.isArray(request.scopes))
    throw invalid('scopes', 'scopes must be a list or a comma-separated string');
  const scopes = parseScopes(request.scopes);
  if (scopes.length === 0) throw invalid('scopes', 'at least one scope is required');
  const accessType = request.accessType ?? 'offline';
  if (accessType !== 'offline' && accessType !== 'online')
    throw invalid('accessType', 'accessType must be "offline" or "online"');
  const lifetimeMs = request.expiresInMs ?? core.options.selfClientCodeLifetimeMs;
  if (typeof lifetimeMs !== 'number' || !Number.isFinite(lifetimeMs) || lifetimeMs <= 0)
    throw invalid('expiresInMs', 'expiresInMs must be > 0');
  const dc = request.dc ?? client.dc;
  if (typeof dc !== 'string' || !client.dataCenters.includes(dc))
    throw invalid('dc', `the client is enabled in ${client.dataCenters.join(', ')}, not "${String(dc)}"`);
  const issued = core.state.issueCode({
    clientId: client.clientId,
    dc,
    user: request.user,
    scopes,
    offline: accessType === 'offline',
    redirectUri: undefined,
    forceConsent: true,
    lifetimeMs,
  });
  if (!issued.ok) {
    throw new ZohoTokenError(ErrorCode.THROTTLED, 'grant code limit reached for this client', {
      retryAfterMs: issued.retryAfterMs,
    });
  }
  core.crm(dc).user(request.user);
  return {
    code: issued.code,
    clientId: client.clientId,
    user: request.user,
    scopes,
    dc,
    expiresAt: core.clock.now() + lifetimeMs,
  };
}
