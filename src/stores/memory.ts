/**
 * `zoho-token-store/memory`: {@link MemoryStore}, the in-process store, for tests and scripts.
 * More: docs/stores/memory.md.
 *
 * @packageDocumentation
 */
import type { OAuthToken } from '../token/oauth-token.js';
import { tokenFromRecord } from '../token/token-record.js';
import { checkId, findMatch, nextId, planSave, snapshotToken } from './kit/matching.js';
import { RecordIndex } from './kit/record-index.js';
import { storeErrors } from './kit/store-errors.js';
import { StoreLifecycle } from './kit/store-lifecycle.js';
import type { TokenStore } from './kit/token-store.js';
import {
  checkBatchSize,
  checkIds,
  compareIds,
  pagesOfIds,
  snapshotBatch,
  type IterateTokensOptions,
} from './kit/store-paging.js';

/**
 * In-process store: the reference implementation of the contract. Nothing survives the process.
 * Every lookup column is indexed, so finds cost the same at 100 tokens and at 100,000.
 */
export class MemoryStore implements TokenStore {
  readonly #rows = new RecordIndex();
  readonly #lifecycle = new StoreLifecycle(storeErrors('MemoryStore'));

  async findToken(token: OAuthToken): Promise<OAuthToken | null> {
    this.#lifecycle.assertOpen();
    const found = await findMatch(snapshotToken(token, 'findToken'), (values) => this.#rows.candidates(values));
    return found && tokenFromRecord(found);
  }

  async saveToken(token: OAuthToken): Promise<void> {
    this.#lifecycle.assertOpen();
    const plan = planSave(snapshotToken(token, 'saveToken'), (values) => this.#rows.candidates(values));
    const record = { ...plan.record };
    if (plan.kind === 'insert' && plan.needsId) record.id = nextId(this.#rows.largestId);
    this.#rows.set(record);
    token.id = record.id;
  }

  /**
   * Saves the tokens in order as `saveToken` would, at once (nothing else runs in between); on a
   * refusal, the tokens before it are saved and the rest are not.
   */
  async saveTokens(tokens: readonly OAuthToken[]): Promise<void> {
    this.#lifecycle.assertOpen();
    const snapshots = snapshotBatch(tokens);
    snapshots.forEach((snapshot, i) => {
      const plan = planSave(snapshot, (values) => this.#rows.candidates(values));
      const record = { ...plan.record };
      if (plan.kind === 'insert' && plan.needsId) record.id = nextId(this.#rows.largestId);
      this.#rows.set(record);
      tokens[i]!.id = record.id;
    });
  }

  /** The tokens with these ids, in that order (`null` where none). */
  async findTokensById(ids: readonly string[]): Promise<(OAuthToken | null)[]> {
    this.#lifecycle.assertOpen();
    return checkIds(ids).map((key) => {
      const record = key === null ? undefined : this.#rows.get(key);
      return record ? tokenFromRecord(record) : null;
    });
  }

  /** Every token, page by page, in id order; see {@link TokenStore.iterateTokens}. */
  async *iterateTokens(options?: IterateTokensOptions): AsyncGenerator<OAuthToken[]> {
    this.#lifecycle.assertOpen();
    const size = checkBatchSize(options);
    const ids = [...this.#rows.values()].map((r) => r.id).sort(compareIds);
    yield* pagesOfIds(ids, size, (page) => {
      this.#lifecycle.assertOpen();
      return page.flatMap((id) => {
        const record = this.#rows.get(id);
        return record ? [tokenFromRecord(record)] : [];
      });
    });
  }

  async deleteToken(id: string): Promise<void> {
    this.#lifecycle.assertOpen();
    const key = checkId(id, 'deleteToken');
    if (key !== null) this.#rows.delete(key);
  }

  async getTokens(): Promise<OAuthToken[]> {
    this.#lifecycle.assertOpen();
    return [...this.#rows.values()].map(tokenFromRecord);
  }

  async deleteTokens(): Promise<void> {
    this.#lifecycle.assertOpen();
    this.#rows.clear();
  }

  async findTokenById(id: string): Promise<OAuthToken | null> {
    this.#lifecycle.assertOpen();
    const key = checkId(id, 'findTokenById');
    const record = key === null ? undefined : this.#rows.get(key);
    return record ? tokenFromRecord(record) : null;
  }

  /** Resolves once the store can serve calls (STORE_CLOSED after `close()`); idempotent. */
  ready(): Promise<void> {
    return this.#lifecycle.run(async () => {});
  }

  /** `close()`, for `await using store = …`: the store is closed when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Idempotent; the tokens are dropped with the store. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }
}
