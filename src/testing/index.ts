/**
 * `zoho-token-store/testing`: the conformance kit every store in this package passes, public so
 * that custom stores can prove they keep the same contract.
 */
export {
  describeTokenStore,
  tokenValues,
  type InjectedClient,
  type SuiteRunner,
  type TokenStoreSuiteOptions,
} from './token-store-suite.js';
export { HOSTILE_VALUES } from './hostile-values.js';
export { describeStoreLock, type StoreLockSuiteOptions } from './store-lock-suite.js';
