import { diagnostics } from '../diagnostics.js';
import { ZohoTokenError } from '../errors.js';
import type { TokenStore } from '../stores/kit/token-store.js';

type Operation = 'findToken' | 'findTokenById' | 'saveToken' | 'deleteToken' | 'getTokens' | 'deleteTokens';

/**
 * `store` as ZohoAuth calls it: the same store, each call of the contract's six methods published
 * on `CHANNELS.storeOperation` (duration and outcome) while someone subscribes. With no subscriber
 * a call costs a closure call and a property read more. Whatever else the store has (its lock) is
 * the store's own.
 */
export function timedStore(store: TokenStore): TokenStore {
  const timed =
    <A extends unknown[], R>(operation: Operation, call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      diagnostics.storeOperation.hasSubscribers ? publishing(operation, () => call(...args)) : call(...args);
  return {
    get lock() {
      return store.lock;
    },
    findToken: timed('findToken', (token) => store.findToken(token)),
    findTokenById: timed('findTokenById', (id) => store.findTokenById(id)),
    saveToken: timed('saveToken', (token) => store.saveToken(token)),
    deleteToken: timed('deleteToken', (id) => store.deleteToken(id)),
    getTokens: timed('getTokens', () => store.getTokens()),
    deleteTokens: timed('deleteTokens', () => store.deleteTokens()),
    close: () => store.close(),
  };
}

async function publishing<R>(operation: Operation, call: () => Promise<R>): Promise<R> {
  const started = performance.now();
  try {
    const result = await call();
    diagnostics.storeOperation.publish({ operation, durationMs: performance.now() - started, code: null });
    return result;
  } catch (error) {
    const code = error instanceof ZohoTokenError ? error.code : 'UNKNOWN';
    diagnostics.storeOperation.publish({ operation, durationMs: performance.now() - started, code });
    throw error;
  }
}
