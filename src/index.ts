export { ErrorCode, ZohoTokenError, isZohoTokenError, type ZohoTokenErrorOptions } from './errors.js';
export { redact } from './redact.js';
export { OAuthToken, type OAuthTokenInit } from './token/oauth-token.js';
export { UserSignature } from './token/user-signature.js';
export type { TokenRecord } from './token/token-record.js';
export type { TokenStore, StoreLock, LockHandle, LockOptions } from './stores/token-store.js';
export { MemoryStore } from './stores/memory.js';
export { SqliteStore, type SqliteStoreOptions } from './stores/sqlite.js';
export { openStore, STORE_URL_FORMS } from './stores/open-store.js';
export { DataCenter, type DataCenterName, type Environment, type EnvironmentKind } from './oauth/environment.js';
// For custom stores: the one implementation of the matching rules, so no store re-implements them.
export {
  findMatch,
  planSave,
  planSaveAsync,
  nextId,
  numericId,
  snapshotToken,
  checkId as checkStoreId,
  matchKeys,
  type LookupValues,
  type MatchKey,
  type SavePlan,
} from './stores/matching.js';
export { tokenFromRecord, RECORD_FIELDS } from './token/token-record.js';
