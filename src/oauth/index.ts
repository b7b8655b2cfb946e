/**
 * `zoho-token-store/oauth`: Zoho's OAuth protocol as stateless functions: build the consent URL,
 * exchange a grant code, refresh, revoke, and turn the accounts server's answers into typed
 * `ZohoTokenError`s. Nothing is cached, locked or stored: `ZohoAuth` (root export) does that on
 * top of these.
 *
 * @packageDocumentation
 */
export type { DataCenterEnvironments, DataCenterName, Environment, EnvironmentKind } from './environment.js';
export { DataCenter } from './environment.js';
export type { CustomEnvironmentInput, ZohoEnvironmentKind } from './resolve-environment.js';
export { customEnvironment, environmentFor, environmentFromLocation } from './resolve-environment.js';
export type { OAuthRequestOptions } from './http.js';
export { DEFAULT_BACKOFF_MS, DEFAULT_MAX_BACKOFF_MS, DEFAULT_RETRIES, DEFAULT_TIMEOUT_MS } from './http.js';
export type { ClassifyOptions } from './classify.js';
export { DEFAULT_THROTTLE_RETRY_AFTER_MS, classifyOAuthError, parseRetryAfter } from './classify.js';
export type { ClientCredentials, ProcessTokenResponseOptions, TokenSet } from './token-endpoint.js';
export {
  exchangeAuthorizationCode,
  processTokenResponse,
  refreshAccessToken,
  tokenEndpointRequest,
} from './token-endpoint.js';
export { processRevokeResponse, revokeRefreshToken, revokeTokenRequest } from './revoke.js';
export type { AuthorizationCallback, AuthorizationUrlParams } from './authorization-url.js';
export { buildAuthorizationUrl, parseAuthorizationCallback } from './authorization-url.js';
