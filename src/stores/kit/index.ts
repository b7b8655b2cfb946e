/**
 * `zoho-token-store/kit`: the building blocks for a custom {@link TokenStore}. The matching rules
 * live here once, so a custom store finds and saves tokens exactly as the bundled stores do: the
 * store fetches the candidate rows ({@link LookupValues}), {@link findMatch} or
 * {@link planSave} / {@link planSaveAsync} decide, the store writes the {@link SavePlan}. Check the
 * result with the conformance suite in `zoho-token-store/testing`; docs/writing-a-store.md walks
 * through it.
 *
 * @packageDocumentation
 */
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
export {
  iterateTokensOf,
  saveTokensOf,
  findTokensById,
  planBatch,
  checkBatchSize,
  compareIds,
  DEFAULT_BATCH_SIZE,
  MAX_BATCH_SIZE,
  type IterateTokensOptions,
  type BatchPlan,
  type BatchWrite,
} from './store-paging.js';
