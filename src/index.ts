/**
 * `zoho-token-store`: Zoho OAuth tokens kept safe, shared and fresh. {@link ZohoAuth} serves valid
 * access tokens (refreshed once across processes), {@link ZohoClient} calls the CRM API with them,
 * and the stores keep the tokens ({@link openStore}, {@link MemoryStore}, {@link SqliteStore},
 * {@link FileStore}; the server stores have their own subpaths). Every failure is a
 * {@link ZohoTokenError} with a stable {@link ErrorCode}.
 *
 * @packageDocumentation
 */
export { ErrorCode, ZohoTokenError, isZohoTokenError, type ZohoTokenErrorOptions } from './errors.js';
export { redact } from './redact.js';
export type { AbortOptions } from './abort.js';
export {
  CHANNELS,
  type ChannelName,
  type CacheMessage,
  type RefreshStartMessage,
  type RefreshEndMessage,
  type RefreshErrorMessage,
  type LockWaitMessage,
  type StoreOperationMessage,
  type ApiThrottleMessage,
} from './diagnostics.js';
export { OAuthToken, type OAuthTokenInit } from './token/oauth-token.js';
export { UserSignature } from './token/user-signature.js';
export type { TokenRecord } from './token/token-record.js';
export type { TokenStore, StoreLock, LockHandle, LockOptions } from './stores/kit/token-store.js';
export type { IterateTokensOptions } from './stores/kit/store-paging.js';
export { MemoryStore } from './stores/memory.js';
export {
  SqliteStore,
  type SqliteStoreOptions,
  type SqliteDriverName,
  type SqliteDatabase,
} from './stores/sqlite/sqlite-store.js';
export { FileStore, type FileStoreOptions } from './stores/file/file-store.js';
export { openStore, STORE_URL_FORMS, type OpenStoreOptions } from './stores/open-store.js';
export type { StoreUrlOptions } from './stores/kit/store-url-options.js';
// Data centers and environments, for ZohoAuth's options. The stateless protocol functions are in
// `zoho-token-store/oauth`; the custom-store building blocks in `zoho-token-store/kit`.
export {
  DataCenter,
  customEnvironment,
  environmentFor,
  environmentFromLocation,
  type DataCenterName,
  type DataCenterEnvironments,
  type Environment,
  type EnvironmentKind,
  type CustomEnvironmentInput,
  type ZohoEnvironmentKind,
} from './oauth/index.js';
export {
  ZohoAuth,
  type ExchangeOptions,
  type AuthorizationUrlOptions,
  type ZohoRequestHeaders,
} from './auth/zoho-auth.js';
export type { ZohoAuthOptions, Clock } from './auth/zoho-auth-options.js';
export type { TokenRef } from './auth/token-ref.js';
export type { AccessCredentials } from './auth/token-cache.js';
export type { ServerClockState } from './auth/server-clock.js';
export { silentLogger, redactingLogger, type Logger, type LogMethod, type LogLevel } from './logger.js';
export { winstonLogger, debugLogger, type WinstonLike, type DebugFactory } from './logger-adapters.js';
export type {
  ZohoAuthHooks,
  SaveReason,
  TokenSavedEvent,
  TokenRefreshedEvent,
  TokenRevokedEvent,
  TokenDeadEvent,
} from './auth/events.js';
export type { ZohoAuthEventMap, ZohoAuthEventName, ZohoAuthListener, RefreshFailedEvent } from './auth/auth-events.js';
export {
  ZohoClient,
  type ZohoClientOptions,
  type ZohoPagesOptions,
  type ZohoRequestOptions,
} from './client/zoho-client.js';
export type { ZohoPage, ZohoPageInfo } from './client/pages.js';
export type { RateLimitOptions } from './client/rate-limit.js';
export { ZOHO_SERVICES, zohoServiceUrl, type ZohoService } from './client/service-hosts.js';
export type {
  ZohoBytesResponse,
  ZohoResponseOf,
  ZohoResponseType,
  ZohoStreamResponse,
} from './client/response-types.js';
export {
  EncryptedStore,
  withEncryption,
  type EncryptedStoreOptions,
  type RotateKeysOptions,
  type RotationReport,
  type KeyMaterial,
} from './stores/encrypted.js';
// Kept for one release (removed in 0.3.0): the names that moved to `./kit` and `./oauth`.
export * from './deprecated-exports.js';
