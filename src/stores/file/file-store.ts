/**
 * `zoho-token-store/file`: {@link FileStore}, the official SDKs' token file (`sdk_tokens.txt`),
 * kept safe for several processes. Options, format, locking and limits: docs/stores/file.md.
 *
 * @packageDocumentation
 */
import { dirname, resolve } from 'node:path';
import type { OAuthToken } from '../../token/oauth-token.js';
import { tokenFromRecord } from '../../token/token-record.js';
import type { FileFormat } from './file-format.js';
import { FileStoreLock, MIN_STALE_MS } from './file-lock.js';
import { FileLockFeed } from './file-lock-feed.js';
import { DEFAULT_SAFETY_POLL_MS, LockWaiter } from '../kit/lock-waiter.js';
import { SnapshotReader } from './file-snapshot.js';
import type { FileTable } from './file-table.js';
import { FileWriter } from './file-writer.js';
import { checkId, findMatch, snapshotToken } from '../kit/matching.js';
import { storeErrors } from '../kit/store-errors.js';
import { StoreLifecycle } from '../kit/store-lifecycle.js';
import type { StoreLock, TokenStore } from '../kit/token-store.js';
import {
  checkBatchSize,
  checkIds,
  compareIds,
  pagesOfIds,
  snapshotBatch,
  type IterateTokensOptions,
} from '../kit/store-paging.js';

const errors = storeErrors('FileStore');

/** Options of `FileStore`; every one has a default. */
export interface FileStoreOptions {
  /**
   * Path of the token file, in the official SDKs' format. Created (mode 0600) when the first
   * writes are folded into it; its directory must exist.
   * @default 'sdk_tokens.txt'
   */
  filename?: string;
  /**
   * Header and line ends of a NEW file: the TypeScript SDK's (`user_mail`, `redirect_url`, LF, no
   * final newline) or the Python SDK's (`user_name`, `redirect_uri`, CRLF). An existing file
   * always keeps its own form.
   * @default 'typescript'
   */
  format?: 'typescript' | 'python';
  /**
   * Flush every write to disk before the save resolves, so an acknowledged save survives a power
   * loss. With `false` a write is still atomic (a crash of the process never loses or tears an
   * acknowledged save) but the last saves may be lost on power loss.
   * @default true
   */
  fsync?: boolean;
  /**
   * `0` (the default) folds every write into the token file before it resolves: an official SDK
   * reading the file sees each acknowledged save at once, which is what the file is for. A delay
   * acknowledges a save once appended to the journal beside the file (`<file>.journal`), and
   * folds the journal into the token file this long after the first write that follows the last
   * fold, in ms: much cheaper saves, but an official SDK sees them only after the fold. Pending
   * writes are also folded by `close()`, by `compact()`, and at once when the journal reaches 1 MiB.
   * @default 0
   */
  compactDelayMs?: number;
  /**
   * Learn of other processes' writes from a watch on the file's directory (inotify; Linux only)
   * and check the files only then, at least once a second, and while this process holds one of
   * the store's locks. `false` checks both files with a `stat` on every read instead. Elsewhere,
   * or without a working watch, the store falls back to that.
   * @default true
   */
  watch?: boolean;
  /**
   * The write lock of a process that stopped refreshing it this long ago (hung, or crashed on
   * another host) is taken over, in ms; at least 2000. A lock of a dead process on this host is
   * taken over at once.
   * @default 10000
   */
  lockStaleMs?: number;
  /**
   * How long a write waits for another process's write lock before failing with STORE_ERROR, in
   * ms. Longer than `lockStaleMs`, so that a stale lock is recovered within the wait.
   * @default 15000
   */
  lockWaitMs?: number;
  /**
   * Waiters for a held lock (the `lock` capability: refresh locks) are woken by a watch of the
   * file's directory when the lock is removed (made on the first wait, stopped after 10 s without
   * waiters and in `close()`); this is how long, in ms, a waiter waits for it before checking the
   * lock anyway: the safety net for a change the watch misses (a lease that ran out, a network file
   * system).
   * @default 1000
   */
  lockPollMs?: number;
}

/**
 * The official SDKs' token file, without their defects. Reads are served from a parsed copy with
 * per-column indexes, checked against the disk when the directory watch reports a change. A write
 * takes a cross-process lock, plans against the files as they are under that lock, and appends one
 * flushed line to a journal beside the file; the journal is folded into the file (temporary file,
 * fsync, rename, directory fsync) shortly after. Concurrent saves of one process share one append.
 * Files and temporaries are mode 0600. See docs/stores/file.md.
 *
 * This class checks the options and answers the TokenStore calls; the reading is done by
 * `SnapshotReader` (file-snapshot.ts) and the writing by `FileWriter` (file-writer.ts).
 */
export class FileStore implements TokenStore {
  /** Absolute path of the token file. */
  readonly filename: string;
  /**
   * Named locks shared by every process using this file, so that a token is refreshed once: a lock
   * is a directory beside the file (`<file>.<hash of the name>.lock`). The lease is also the stale
   * time (at least 2000 ms): the lock ends for everyone `leaseMs` after it was taken, and a lock
   * whose holder stopped refreshing it that long ago, or died on this host, is taken over.
   */
  readonly lock: StoreLock;
  readonly #lock: FileStoreLock;
  readonly #waiter: LockWaiter;
  readonly #reader: SnapshotReader;
  readonly #writer: FileWriter;
  readonly #lifecycle = new StoreLifecycle(errors);

  /**
   * Checks the options only; the file is read on the first call (or by `ready()`) and created by
   * the first write.
   *
   * @throws `ZohoTokenError` `INVALID_ARGUMENT` for a bad option (`field` names it).
   */
  constructor(options: FileStoreOptions = {}) {
    const filename = options.filename ?? 'sdk_tokens.txt';
    if (typeof filename !== 'string' || filename === '') {
      throw errors.invalid('filename', 'filename must be a non-empty path');
    }
    this.filename = resolve(filename);
    const journalPath = `${this.filename}.journal`;
    const format = errors.oneOf<FileFormat>(options.format, 'format', ['typescript', 'python'], 'typescript');
    const fsync = errors.boolean(options.fsync, 'fsync', true);
    const watch = errors.boolean(options.watch, 'watch', true);
    const compactDelayMs = errors.integer(options.compactDelayMs, 'compactDelayMs', 0, 0);
    const lockStaleMs = errors.integer(options.lockStaleMs, 'lockStaleMs', MIN_STALE_MS, 10_000);
    const lockWaitMs = errors.integer(options.lockWaitMs, 'lockWaitMs', 0, 15_000);
    const lockPollMs = errors.integer(options.lockPollMs, 'lockPollMs', 1, DEFAULT_SAFETY_POLL_MS);
    this.#waiter = new LockWaiter(new FileLockFeed(dirname(this.filename)), { safetyMs: lockPollMs });
    this.lock = this.#lock = new FileStoreLock(
      this.filename,
      () => this.#lifecycle.assertOpen(),
      (what, error) => errors.wrap(error, what),
      this.#waiter,
    );
    this.#reader = new SnapshotReader({
      storeName: errors.name,
      filename: this.filename,
      journalPath,
      format,
      watch,
      locksHeld: () => this.#lock.held,
      closed: () => this.#lifecycle.closed,
      journalPending: () => this.#writer.scheduleCompaction(compactDelayMs),
    });
    this.#writer = new FileWriter({
      errors,
      filename: this.filename,
      journalPath,
      format,
      fsync,
      compactDelayMs,
      lockStaleMs,
      lockWaitMs,
      reader: this.#reader,
    });
  }

  findToken(token: OAuthToken): Promise<OAuthToken | null> {
    return this.#lifecycle.run(async () => {
      const snapshot = snapshotToken(token, 'findToken');
      const table = await this.#read();
      const found = await findMatch(snapshot, (values) => table.index.candidates(values));
      return found && tokenFromRecord(found);
    });
  }

  saveToken(token: OAuthToken): Promise<void> {
    return this.#lifecycle.run(async () => {
      const snapshot = snapshotToken(token, 'saveToken');
      token.id = await new Promise<string>((resolve, reject) =>
        this.#writer.enqueue({ kind: 'save', snapshot, settle: { resolve, reject } }),
      );
    });
  }

  /**
   * Saves the tokens as `saveToken` would, in order, in one write of the file (one journal append
   * and fsync under one lock). A refused token fails alone: the others are still saved.
   */
  saveTokens(tokens: readonly OAuthToken[]): Promise<void> {
    return this.#lifecycle.run(async () => {
      const snapshots = snapshotBatch(tokens);
      // Queued together, the saves form one batch of the writer (group commit).
      const results = await Promise.allSettled(
        snapshots.map(
          (snapshot) =>
            new Promise<string>((resolve, reject) =>
              this.#writer.enqueue({ kind: 'save', snapshot, settle: { resolve, reject } }),
            ),
        ),
      );
      results.forEach((result, i) => {
        if (result.status === 'fulfilled') tokens[i]!.id = result.value;
      });
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    });
  }

  /** The tokens with these ids, in that order (`null` where none), from one snapshot. */
  findTokensById(ids: readonly string[]): Promise<(OAuthToken | null)[]> {
    return this.#lifecycle.run(async () => {
      const keys = checkIds(ids);
      const table = await this.#read();
      return keys.map((key) => {
        const record = key === null ? undefined : table.index.get(key);
        return record ? tokenFromRecord(record) : null;
      });
    });
  }

  /** Every token, page by page, in id order; see {@link TokenStore.iterateTokens}. */
  async *iterateTokens(options?: IterateTokensOptions): AsyncGenerator<OAuthToken[]> {
    const size = checkBatchSize(options);
    const ids = await this.#lifecycle.run(async () => [...(await this.#read()).index.values()].map((r) => r.id));
    yield* pagesOfIds(ids.sort(compareIds), size, (page) =>
      this.#lifecycle.run(async () => {
        const table = await this.#read();
        return page.flatMap((id) => {
          const record = table.index.get(id);
          return record ? [tokenFromRecord(record)] : [];
        });
      }),
    );
  }

  deleteToken(id: string): Promise<void> {
    return this.#lifecycle.run(async () => {
      const key = checkId(id, 'deleteToken');
      // Deleting what is not there needs no lock and no write.
      if (key === null || !(await this.#read()).index.has(key)) return;
      await new Promise<void>((resolve, reject) =>
        this.#writer.enqueue({ kind: 'delete', id: key, settle: { resolve, reject } }),
      );
    });
  }

  getTokens(): Promise<OAuthToken[]> {
    return this.#lifecycle.run(async () => {
      return [...(await this.#read()).index.values()].map(tokenFromRecord);
    });
  }

  deleteTokens(): Promise<void> {
    return this.#lifecycle.run(async () => {
      await new Promise<void>((resolve, reject) =>
        this.#writer.enqueue({ kind: 'clear', settle: { resolve, reject } }),
      );
    });
  }

  findTokenById(id: string): Promise<OAuthToken | null> {
    return this.#lifecycle.run(async () => {
      const key = checkId(id, 'findTokenById');
      if (key === null) return null;
      const record = (await this.#read()).index.get(key);
      return record ? tokenFromRecord(record) : null;
    });
  }

  /** Reads the token file (creating nothing), so that an unreadable or corrupt file shows now; idempotent. */
  ready(): Promise<void> {
    return this.#lifecycle.run(async () => void (await this.#read()));
  }

  /** Folds the journal into the token file now, so that an official SDK reading the file sees every save. */
  compact(): Promise<void> {
    return this.#lifecycle.run(async () => {
      await this.#writer.compactNow();
    });
  }

  /** `close()`, for `await using store = …`: the store is closed when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Waits for queued writes, folds the journal if this store has writes pending a fold, then releases the files. */
  close(): Promise<void> {
    return this.#lifecycle.close(() => this.#release());
  }

  /**
   * Lets go of the files: waits for queued writes, folds the journal if this store has writes
   * pending a fold, stops the watch and closes the handles.
   */
  async #release(): Promise<void> {
    await this.#waiter.close();
    await this.#writer.draining;
    // A pending fold means writes of this store not folded yet: fold them now. A failed fold
    // leaves them safe in the journal.
    if (this.#writer.foldPending) await this.#writer.compactNow().catch(() => {});
    await this.#writer.draining;
    await this.#reader.release(() => this.#writer.cancelCompaction());
  }

  async #read(): Promise<FileTable> {
    try {
      return await this.#reader.current(false);
    } catch (error) {
      throw errors.wrap(error, 'cannot read the token file');
    }
  }
}
