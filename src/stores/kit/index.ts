// `zoho-token-store/kit`: the building blocks for a custom TokenStore. The matching rules live here
// once, so a custom store finds and saves tokens exactly as the bundled stores do; check the result
// with the conformance suite in `zoho-token-store/testing`.
export type { TokenStore, StoreLock, LockHandle, LockOptions } from './token-store.js';
export type { TokenRecord } from '../../token/token-record.js';
export { tokenFromRecord, RECORD_FIELDS } from '../../token/token-record.js';
export {
  findMatch,
  planSave,
  planSaveAsync,
  nextId,
  numericId,
  isCanonicalId,
  MAX_CHOSEN_ID,
  snapshotToken,
  checkId as checkStoreId,
  matchKeys,
  type LookupValues,
  type MatchField,
  type MatchKey,
  type SavePlan,
} from './matching.js';
export { refreshLockName } from './store-lock.js';
