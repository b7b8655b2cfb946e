/**
 * `zoho-token-store/testing`: the conformance kit every store in this package passes, public so
 * that custom stores can prove they keep the same contract: {@link describeTokenStore} for the six
 * methods, {@link describeStoreLock} for the optional `lock`. Both take the `describe` and `it` of
 * your test runner (node:test, Vitest, Jest, Mocha).
 *
 * @packageDocumentation
 */
export {
  describeTokenStore,
  tokenValues,
  type InjectedClient,
  type SuiteRunner,
  type TokenStoreSuiteOptions,
} from './token-store-suite.js';
export { HOSTILE_VALUES } from './hostile-values.js';
export { describeStoreLock, type LockPairOptions, type StoreLockSuiteOptions } from './store-lock-suite.js';
