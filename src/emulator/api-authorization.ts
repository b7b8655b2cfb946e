import type { EmulatorRequest } from './exchange.js';

/**
 * Zoho's API takes the access token as `Authorization: Zoho-oauthtoken <token>` or, per its
 * accounts documentation ("Using the Access token"), `Authorization: Bearer <token>`. Scheme names
 * are case-insensitive (RFC 9110 §11.1), as the emulator already read `Zoho-oauthtoken`.
 */
const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * The request with a `Bearer` Authorization header rewritten to the `Zoho-oauthtoken` form, so the
 * API routes (and the fault observer) read one scheme. Any other header is left alone: a wrong
 * scheme still answers `AUTHENTICATION_FAILURE`.
 */
export function withCanonicalApiAuthorization(request: EmulatorRequest): EmulatorRequest {
  const token = BEARER.exec(request.header('authorization') ?? '')?.[1];
  if (token === undefined) return request;
  return {
    method: request.method,
    target: request.target,
    body: request.body,
    header: (name) => (name.toLowerCase() === 'authorization' ? `Zoho-oauthtoken ${token}` : request.header(name)),
  };
}
