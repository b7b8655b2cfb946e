import { randomBytes } from 'node:crypto';
import { constants, watch, type FSWatcher } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { open, readFile, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../../errors.js';
import { sanitizeCause } from '../../redact.js';
import { SECRET_FIELDS, type OAuthToken } from '../../token/oauth-token.js';
import { tokenFromRecord, type TokenRecord } from '../../token/token-record.js';
import {
  formatRow,
  newDialect,
  fileChunks,
  parseTokenFile,
  requiredWidth,
  rowBytes,
  widenDialect,
  type Dialect,
  type FileFormat,
} from './file-format.js';
import { tightenFileModes } from './file-mode.js';
import { JOURNAL_HEADER, decodeJournal, encodeEntry, type JournalEntry } from './file-journal.js';
import { FileStoreLock, MIN_STALE_MS, acquireFileLock, type HeldFileLock } from './file-lock.js';
import { checkId, findMatch, nextId, numericId, planSave, snapshotToken, type LookupValues } from '../kit/matching.js';
import { RecordIndex } from '../kit/record-index.js';
import type { TokenStore } from '../kit/token-store.js';

const STORE_NAME = 'FileStore';
/** A journal this long is folded into the file by the write that made it so, whatever the delay. */
const JOURNAL_MAX_BYTES = 1024 * 1024;
/** Even with nothing reported by the directory watch, a read checks the files this often. */
const REVALIDATE_MS = 1000;
/** A writer keeps the write lock this long after a batch, in case its caller saves again… */
const LINGER_MS = 2;
/** …but never longer than this in one go, so that other processes get their turn. */
const MAX_HOLD_MS = 50;
/** A failed fold (disk full…) is tried again after at least this long. */
const FOLD_RETRY_MS = 1000;
/** Reads overlapping a fold are retried this often (with jittered back-off) before STORE_ERROR. */
const READ_ATTEMPTS = 40;

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
  format?: FileFormat;
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
}

/** Identity of one version of a file: a replaced file has a new inode, a changed one a new size or mtime. */
interface FileKey {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
}

interface Line {
  readonly text: string;
  readonly fields: number;
  /** `rowBytes` of the text, made at the first write and reused by the next ones. */
  bytes?: Buffer;
}

/** The tokens: rows by id with their text, in file order. Changed only after a write reached the disk. */
class FileTable {
  dialect: Dialect | null;
  readonly index = new RecordIndex();
  readonly lines = new Map<string, Line>();
  /** The high-water mark the `.meta` sidecar holds. */
  metaLastId: number;

  constructor(dialect: Dialect | null, metaLastId: number) {
    this.dialect = dialect;
    this.metaLastId = metaLastId;
    this.index.raiseLargestId(metaLastId);
  }
}

/**
 * An open file and the version of it read. Its handle stays open while it is current: an inode
 * that is still open cannot be reused by a newer file, so an equal inode number means the same file.
 */
interface Opened {
  readonly handle: FileHandle;
  key: FileKey;
}

/** The token file plus the journal entries read so far. */
interface Snapshot {
  readonly table: FileTable;
  readonly base: Opened | null;
  journal: Opened | null;
  /** Journal bytes applied to the table: the next read starts here. */
  journalEnd: number;
  /** Journal entries applied to the table; 0 means the table is the token file as it is. */
  journalEntries: number;
  /** Order of snapshots: a slow load started before a write never replaces the write's result. */
  readonly epoch: number;
}

type WriteOp =
  | { kind: 'save'; snapshot: OAuthToken; settle: Settle<string> }
  | { kind: 'delete'; id: string; settle: Settle<void> }
  | { kind: 'clear'; settle: Settle<void> }
  | { kind: 'compact'; settle: Settle<void> };

interface Settle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

interface Outcome {
  id?: string;
  error?: unknown;
}

function settle(batch: readonly WriteOp[], outcomes: ReadonlyMap<WriteOp, Outcome>): void {
  for (const op of batch) {
    const { id, error } = outcomes.get(op)!;
    if (error !== undefined) {
      op.settle.reject(
        toStoreError(error, op.kind === 'save' ? secretsOf(op.snapshot) : [], 'cannot write the token file'),
      );
    } else if (op.kind === 'save') op.settle.resolve(id!);
    else op.settle.resolve();
  }
}

/**
 * The official SDKs' token file, without their defects. Reads are served from a parsed copy with
 * per-column indexes, checked against the disk when the directory watch reports a change. A write
 * takes a cross-process lock, plans against the files as they are under that lock, and appends one
 * flushed line to a journal beside the file; the journal is folded into the file (temporary file,
 * fsync, rename, directory fsync) shortly after. Concurrent saves of one process share one append.
 * Files and temporaries are mode 0600. See docs/stores/file.md.
 */
export class FileStore implements TokenStore {
  /** Absolute path of the token file. */
  readonly filename: string;
  readonly lock: FileStoreLock;
  readonly #journalPath: string;
  readonly #format: FileFormat;
  readonly #fsync: boolean;
  readonly #compactDelayMs: number;
  readonly #watch: boolean;
  readonly #lockStaleMs: number;
  readonly #lockWaitMs: number;
  #snapshot: Snapshot | null = null;
  /** The one load or journal read in flight: they change the snapshot, so they run one at a time. */
  #updating: Promise<unknown> | null = null;
  #epoch = 0;
  #ready = false;
  #swept = false;
  #queue: WriteOp[] = [];
  #draining: Promise<void> | null = null;
  /** Set while a write session lingers with the lock: a new write wakes it. */
  #wake: (() => void) | null = null;
  readonly #lockCache = {};
  #compactTimer: NodeJS.Timeout | null = null;
  /** undefined: not started yet; null: not used (disabled or failed). */
  #watcher: FSWatcher | null | undefined = undefined;
  /** Set by the watch when a file may have changed since the last check. */
  #dirty = true;
  #checkedAt = 0;
  #closed = false;
  /** Set once `close()` has finished the writes: the files are then let go. */
  #released = false;
  /** Checks of the files in flight: while one runs, a read cannot trust the cache. */
  #checks = 0;

  constructor(options: FileStoreOptions = {}) {
    const filename = options.filename ?? 'sdk_tokens.txt';
    if (typeof filename !== 'string' || filename === '') {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'filename must be a non-empty path', { field: 'filename' });
    }
    this.filename = resolve(filename);
    this.#journalPath = `${this.filename}.journal`;
    this.#format = options.format ?? 'typescript';
    if (this.#format !== 'typescript' && this.#format !== 'python') {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, "format must be 'typescript' or 'python'", {
        field: 'format',
      });
    }
    this.#fsync = checkBoolean(options.fsync ?? true, 'fsync');
    this.#watch = checkBoolean(options.watch ?? true, 'watch');
    this.#compactDelayMs = checkMs(options.compactDelayMs ?? 0, 'compactDelayMs', 0);
    this.#lockStaleMs = checkMs(options.lockStaleMs ?? 10_000, 'lockStaleMs', MIN_STALE_MS);
    this.#lockWaitMs = checkMs(options.lockWaitMs ?? 15_000, 'lockWaitMs', 0);
    this.lock = new FileStoreLock(
      this.filename,
      () => this.#assertOpen(),
      (what, error) => toStoreError(error, [], what),
    );
  }

  async findToken(token: OAuthToken): Promise<OAuthToken | null> {
    this.#assertOpen();
    const snapshot = snapshotToken(token, 'findToken');
    const table = await this.#read();
    const found = await findMatch(snapshot, (values) => table.index.candidates(values));
    return found && tokenFromRecord(found);
  }

  async saveToken(token: OAuthToken): Promise<void> {
    this.#assertOpen();
    const snapshot = snapshotToken(token, 'saveToken');
    token.id = await new Promise<string>((resolve, reject) =>
      this.#enqueue({ kind: 'save', snapshot, settle: { resolve, reject } }),
    );
  }

  async deleteToken(id: string): Promise<void> {
    this.#assertOpen();
    const key = checkId(id, 'deleteToken');
    // Deleting what is not there needs no lock and no write.
    if (key === null || !(await this.#read()).index.has(key)) return;
    await new Promise<void>((resolve, reject) =>
      this.#enqueue({ kind: 'delete', id: key, settle: { resolve, reject } }),
    );
  }

  async getTokens(): Promise<OAuthToken[]> {
    this.#assertOpen();
    return [...(await this.#read()).index.values()].map(tokenFromRecord);
  }

  async deleteTokens(): Promise<void> {
    this.#assertOpen();
    await new Promise<void>((resolve, reject) => this.#enqueue({ kind: 'clear', settle: { resolve, reject } }));
  }

  async findTokenById(id: string): Promise<OAuthToken | null> {
    this.#assertOpen();
    const key = checkId(id, 'findTokenById');
    if (key === null) return null;
    const record = (await this.#read()).index.get(key);
    return record ? tokenFromRecord(record) : null;
  }

  /** Folds the journal into the token file now, so that an official SDK reading the file sees every save. */
  async compact(): Promise<void> {
    this.#assertOpen();
    await this.#compactNow();
  }

  /** Waits for queued writes, folds the journal if this store has writes pending a fold, then releases the files. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#draining;
    // A pending fold means writes of this store not folded yet: fold them now. A failed fold
    // leaves them safe in the journal.
    if (this.#compactTimer !== null) await this.#compactNow().catch(() => {});
    await this.#draining;
    await this.#updating?.catch(() => {});
    this.#released = true;
    this.#cancelCompaction();
    this.#watcher?.close();
    this.#watcher = null;
    const snapshot = this.#snapshot;
    this.#snapshot = null;
    await closeSnapshot(snapshot);
  }

  #assertOpen(): void {
    if (this.#closed) throw new ZohoTokenError(ErrorCode.STORE_CLOSED, `${STORE_NAME} is closed`);
  }

  // --- reading -------------------------------------------------------------------------------

  async #read(): Promise<FileTable> {
    try {
      return await this.#current(false);
    } catch (error) {
      throw toStoreError(error, [], 'cannot read the token file');
    }
  }

  /**
   * The tokens as the files hold them now. Unless `strict`, the cached table is trusted when the
   * watch reported nothing: a change another process acknowledged before this call queued its
   * watch event before this call, and two turns of the event loop deliver it.
   */
  async #current(strict: boolean): Promise<FileTable> {
    await this.#checkDirectory();
    this.#startWatching();
    const snapshot = this.#snapshot;
    if (!strict && snapshot !== null && this.#watcher && this.lock.held === 0) {
      await nextPoll();
      const trusted =
        !this.#dirty &&
        this.#checks === 0 &&
        this.#snapshot === snapshot &&
        Date.now() - this.#checkedAt < REVALIDATE_MS;
      if (trusted) return snapshot.table;
    }
    this.#checks++;
    try {
      return await this.#check();
    } finally {
      this.#checks--;
    }
  }

  /** Compares both files with the snapshot, and brings it up to them. */
  async #check(): Promise<FileTable> {
    for (;;) {
      this.#dirty = false;
      const checkedAt = Date.now();
      // One after the other: two at once cost more here (a thread-pool round trip each, on 2 cores).
      const baseKey = await statKey(this.filename);
      const journalKey = await statKey(this.#journalPath);
      const current = this.#snapshot;
      if (current && sameKey(current.base?.key ?? null, baseKey) && sameKey(current.journal?.key ?? null, journalKey)) {
        this.#checkedAt = checkedAt;
        return current.table;
      }
      if (this.#updating) {
        // Another call is reading; its result may be the version we just saw.
        await this.#updating.catch(() => {});
        continue;
      }
      const update = this.#update(current, baseKey, journalKey);
      this.#updating = update;
      try {
        return await update;
      } finally {
        if (this.#updating === update) this.#updating = null;
      }
    }
  }

  /** Brings the snapshot up to the files: reads only the journal's new lines when the token file is unchanged. */
  async #update(current: Snapshot | null, baseKey: FileKey | null, journalKey: FileKey | null): Promise<FileTable> {
    if (current && journalKey && sameKey(current.base?.key ?? null, baseKey)) {
      if (current.journal && sameFile(current.journal.key, journalKey) && journalKey.size >= current.journalEnd) {
        await this.#readJournal(current, current.journal.handle, journalKey);
        return current.table;
      }
      if (current.journalEntries === 0 && (await this.#openJournal(current, baseKey))) return current.table;
    }
    return (await this.#load()).table;
  }

  /** Applies the journal's lines from `journalEnd` on; `key` is the journal's version when the read began. */
  async #readJournal(snapshot: Snapshot, handle: FileHandle, key: FileKey): Promise<void> {
    const bytes = await readFrom(handle, snapshot.journalEnd, Number(key.size) - snapshot.journalEnd);
    const decoded = decodeJournal(bytes, snapshot.journalEnd, this.#journalPath);
    for (const entry of decoded.entries) applyEntry(snapshot.table, entry, this.#format);
    snapshot.journalEntries += decoded.entries.length;
    snapshot.journalEnd = decoded.end;
    snapshot.journal = { handle, key };
  }

  /**
   * A journal appeared (or was replaced) over a table that is the token file as it is: reads it
   * whole. False when the token file changed meanwhile (a fold by another process): load anew.
   */
  async #openJournal(snapshot: Snapshot, baseKey: FileKey | null): Promise<boolean> {
    const opened = await openJournal(this.#journalPath);
    if (opened === null) return false;
    const { handle, key } = opened;
    try {
      // A fold renames the new token file in before it replaces the journal: with the token file
      // unchanged after the journal was opened, the journal belongs to it.
      if (!sameKey(await statKey(this.filename), baseKey)) {
        await handle.close();
        return false;
      }
      const previous = snapshot.journal;
      snapshot.journalEnd = 0;
      await this.#readJournal(snapshot, handle, key);
      if (previous && previous.handle !== handle) void previous.handle.close().catch(() => {});
      return true;
    } catch (error) {
      if (snapshot.journal?.handle !== handle) await handle.close().catch(() => {});
      throw error;
    }
  }

  async #load(): Promise<Snapshot> {
    // An official SDK rewrites the file in place, and a fold replaces it: a read that overlaps
    // either is retried.
    for (let attempt = 1; ; attempt++) {
      const epoch = ++this.#epoch;
      const base = await openFile(this.filename);
      let journal: Opened | null = null;
      try {
        let table: FileTable;
        const meta = await this.#readMeta();
        if (base === null) {
          table = new FileTable(null, meta);
        } else {
          const text = await base.handle.readFile({ encoding: 'utf8' });
          try {
            table = tableOf(parseTokenFile(text, this.filename), meta);
          } catch (error) {
            if (!sameKey(base.key, await statKey(this.filename)) && attempt < 3) continue;
            throw error;
          }
        }
        journal = await openJournal(this.#journalPath);
        if (!sameKey(base?.key ?? null, await statKey(this.filename))) {
          // Writers fold on every save (compactDelayMs 0): a reader racing them backs off with
          // jitter so it lands between two folds instead of failing after a few quick tries.
          if (attempt < READ_ATTEMPTS) {
            if (attempt >= 3) await sleep(1 + Math.floor(Math.random() * Math.min(50, 2 ** attempt)));
            continue;
          }
          throw new ZohoTokenError(
            ErrorCode.STORE_ERROR,
            `${STORE_NAME}: the token file kept changing while it was read`,
          );
        }
        const snapshot: Snapshot = { table, base, journal: null, journalEnd: 0, journalEntries: 0, epoch };
        if (journal) await this.#readJournal(snapshot, journal.handle, journal.key);
        journal = null;
        // Writes a crashed process left in the journal reach the token file without waiting for a new write.
        if (snapshot.journalEntries > 0) this.#scheduleCompaction(this.#compactDelayMs);
        return this.#install(snapshot);
      } catch (error) {
        await closeOpened(base);
        await closeOpened(journal);
        throw error;
      } finally {
        // A retry (`continue`) drops what this attempt opened.
        if (this.#snapshot?.epoch !== epoch) {
          await closeOpened(base);
          await closeOpened(journal);
        }
      }
    }
  }

  /** Makes `next` current unless a newer snapshot already is; closes whichever is dropped. */
  #install(next: Snapshot): Snapshot {
    const current = this.#snapshot;
    if (this.#released || (current !== null && current.epoch > next.epoch)) {
      void closeSnapshot(next);
      return next;
    }
    this.#snapshot = next;
    if (current) {
      if (current.base && current.base.handle !== next.base?.handle) void current.base.handle.close().catch(() => {});
      if (current.journal && current.journal.handle !== next.journal?.handle)
        void current.journal.handle.close().catch(() => {});
    }
    return next;
  }

  #startWatching(): void {
    if (this.#watcher !== undefined || this.#closed) return;
    this.#watcher = null;
    // inotify reports a change before the write that made it returns; other platforms' watches lag.
    if (!this.#watch || process.platform !== 'linux') return;
    const names = new Set([basename(this.filename), basename(this.#journalPath)]);
    try {
      // Not persistent: a store must not keep its process alive.
      const watcher = watch(dirname(this.filename), { persistent: false }, (_event, name) => {
        if (name === null || names.has(String(name))) this.#dirty = true;
      });
      watcher.on('error', () => {
        // From now on every read checks the files.
        if (this.#watcher === watcher) this.#watcher = null;
        watcher.close();
      });
      this.#watcher = watcher;
    } catch {
      // No watch here (limits, file system): every read checks the files.
    }
  }

  async #checkDirectory(): Promise<void> {
    if (this.#ready) return;
    const directory = dirname(this.filename);
    const stats = await stat(directory).catch(() => null);
    if (!stats?.isDirectory()) {
      throw new ZohoTokenError(
        ErrorCode.STORE_ERROR,
        `${STORE_NAME}: the directory of the token file does not exist: ${JSON.stringify(directory)}`,
      );
    }
    // Files an official SDK (0644) or a copy left readable by others: private from now on.
    await tightenFileModes([this.filename, this.#journalPath, `${this.filename}.meta`], STORE_NAME);
    this.#ready = true;
  }

  // --- writing -------------------------------------------------------------------------------

  #enqueue(op: WriteOp): void {
    this.#queue.push(op);
    this.#wake?.();
    this.#draining ??= this.#drain();
  }

  /** Writes run one batch at a time; saves that arrive meanwhile form the next batch (group commit). */
  async #drain(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#queue.length > 0) await this.#writeSession();
    this.#draining = null;
  }

  /**
   * Takes the cross-process write lock, commits the queued batches, and keeps the lock up to
   * LINGER_MS after a batch in case another follows (a caller saving one token after another),
   * for at most MAX_HOLD_MS in all, so that back-to-back saves do not each pay for the lock.
   */
  async #writeSession(): Promise<void> {
    let lock: HeldFileLock | null = null;
    try {
      try {
        await this.#checkDirectory();
        lock = await acquireFileLock(`${this.filename}.lock`, {
          staleMs: this.#lockStaleMs,
          waitMs: this.#lockWaitMs,
          cache: this.#lockCache,
        });
        if (lock === null) {
          throw new ZohoTokenError(
            ErrorCode.STORE_ERROR,
            `${STORE_NAME}: another process held the write lock of the token file for over ${this.#lockWaitMs} ms`,
          );
        }
        if (!this.#swept) await this.#sweepTemporaries();
      } catch (error) {
        const batch = this.#queue;
        this.#queue = [];
        settle(batch, new Map(batch.map((op) => [op, { error }])));
        return;
      }
      const heldSince = Date.now();
      for (;;) {
        const batch = this.#queue;
        this.#queue = [];
        await this.#commit(batch, lock);
        if (lock.lost || Date.now() - heldSince >= MAX_HOLD_MS) return;
        if (this.#queue.length === 0 && !(await this.#nextOp(LINGER_MS))) return;
        // Let the callers of this turn join the batch.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      await lock?.release().catch(() => {});
    }
  }

  /** Resolves true as soon as a write is queued, false after `ms` without one. */
  #nextOp(ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve(false);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve(true);
      };
    });
  }

  async #commit(batch: WriteOp[], lock: HeldFileLock): Promise<void> {
    const outcomes = new Map<WriteOp, Outcome>(batch.map((op) => [op, {}]));
    let appended = false;
    let foldFailed = false;
    try {
      // Another process may have written since our last read: plan against the files as they are now.
      const snapshot = await this.#currentSnapshot();
      const changes = new Changes(snapshot.table);
      for (const op of batch) {
        const outcome = outcomes.get(op)!;
        try {
          if (op.kind === 'save') outcome.id = changes.save(op.snapshot);
          else if (op.kind === 'delete') changes.delete(op.id);
          else if (op.kind === 'clear') changes.clear();
        } catch (error) {
          outcome.error = error;
        }
      }
      if (changes.any) {
        await this.#append(snapshot, changes.entry(), lock);
        appended = true;
      }
      const journalSize = this.#snapshot?.journalEnd ?? 0;
      const fold =
        batch.some((op) => op.kind === 'compact') ||
        (appended && (this.#compactDelayMs === 0 || journalSize >= JOURNAL_MAX_BYTES));
      if (fold) {
        try {
          await this.#fold(lock);
          appended = false;
        } catch (error) {
          // The batch's writes are committed in the journal: only the fold failed, and is retried.
          for (const op of batch) if (op.kind === 'compact') outcomes.get(op)!.error = error;
          foldFailed = true;
        }
      }
    } catch (error) {
      for (const outcome of outcomes.values()) outcome.error ??= error;
    }
    if (foldFailed) this.#scheduleCompaction(Math.max(this.#compactDelayMs, FOLD_RETRY_MS));
    else if (appended) this.#scheduleCompaction(this.#compactDelayMs);
    settle(batch, outcomes);
  }

  /** Appends the batch to the journal and flushes it; makes the journal first if there is none. */
  async #append(snapshot: Snapshot, entry: JournalEntry, lock: HeldFileLock): Promise<void> {
    const line = encodeEntry(entry);
    let journal = snapshot.journal;
    let start: number;
    let key: FileKey;
    // No journal, or one whose header never reached the disk (a power loss with `fsync: false`).
    if (journal === null || snapshot.journalEnd < JOURNAL_HEADER.length) {
      journal = await this.#replace(this.#journalPath, [JOURNAL_HEADER, line], lock, JOURNAL_FLAGS);
      await this.#syncDirectory();
      start = JOURNAL_HEADER.length;
      key = journal.key;
    } else {
      start = snapshot.journalEnd;
      this.#assertLockKept(lock);
      // What follows the last complete line is an append cut short by a crash, never acknowledged:
      // cut it off, so that a damaged line can only ever be the last one (see file-journal.ts).
      if (Number(journal.key.size) > start) await journal.handle.truncate(start);
      await writeAll(journal.handle, line, start);
      // The flush does not change what stat reports: both at once.
      const [stats] = await Promise.all([
        journal.handle.stat({ bigint: true }),
        this.#fsync ? journal.handle.datasync() : null,
      ]);
      key = keyOf(stats);
    }
    const { handle } = journal;
    await this.#exclusive(() => {
      if (this.#snapshot !== snapshot) {
        // Replaced by a reader's load, which read the journal itself.
        if (handle !== snapshot.journal?.handle && handle !== this.#snapshot?.journal?.handle)
          void handle.close().catch(() => {});
        return;
      }
      applyEntry(snapshot.table, entry, this.#format);
      snapshot.journalEntries++;
      // A read of this process may have applied the line already.
      snapshot.journalEnd = Math.max(snapshot.journalEnd, start + line.length);
      if (snapshot.journal && snapshot.journal.handle !== handle) void snapshot.journal.handle.close().catch(() => {});
      snapshot.journal = { handle, key };
    });
  }

  /** Writes the table into the token file and starts an empty journal. Under the write lock, with the snapshot current. */
  async #fold(lock: HeldFileLock): Promise<void> {
    // Everything the journal holds, this batch's line included, even if a read replaced the snapshot meanwhile.
    const snapshot = await this.#currentSnapshot();
    // Nothing to fold: no journal, or one with nothing after its header.
    if (snapshot.journal === null) return;
    if (snapshot.journalEntries === 0 && Number(snapshot.journal.key.size) === JOURNAL_HEADER.length) return;
    const { table } = snapshot;
    const metaLastId = newMetaLastId(table);
    if (metaLastId !== null) {
      // The largest id leaves the file: keep it beside, before the rows that held it are gone.
      const meta = await this.#replace(
        `${this.filename}.meta`,
        [Buffer.from(`${JSON.stringify({ lastId: metaLastId })}\n`)],
        lock,
      );
      await meta.handle.close();
      await this.#syncDirectory();
    }
    const dialect = table.dialect ?? newDialect(this.#format);
    const rows = [...table.lines.values()].map((line) => (line.bytes ??= rowBytes(dialect, line.text)));
    // The new file first: a crash before the journal is replaced re-applies the journal to a file
    // that holds it already, which changes nothing.
    const base = await this.#replace(this.filename, fileChunks(dialect, rows), lock);
    let journal: Opened;
    try {
      // The new file must be on disk before the journal that it replaces is gone.
      await this.#syncDirectory();
      journal = await this.#replace(this.#journalPath, [JOURNAL_HEADER], lock, JOURNAL_FLAGS);
    } catch (error) {
      await base.handle.close().catch(() => {});
      throw error;
    }
    await this.#exclusive(() => {
      if (metaLastId !== null) table.metaLastId = metaLastId;
      table.dialect = dialect;
      this.#install({
        table,
        base,
        journal,
        journalEnd: JOURNAL_HEADER.length,
        journalEntries: 0,
        epoch: ++this.#epoch,
      });
    });
    await this.#syncDirectory();
  }

  /** The snapshot as the files are now; for writers, under the write lock. */
  async #currentSnapshot(): Promise<Snapshot> {
    const table = await this.#current(true);
    const snapshot = this.#snapshot;
    if (snapshot === null || snapshot.table !== table) {
      throw new ZohoTokenError(
        ErrorCode.STORE_ERROR,
        `${STORE_NAME}: the token file changed while it was being written; nothing was written`,
      );
    }
    return snapshot;
  }

  /** Runs `change` to the snapshot after any load or journal read in flight, and before the next. */
  async #exclusive(change: () => void): Promise<void> {
    while (this.#updating) await this.#updating.catch(() => {});
    change();
  }

  #scheduleCompaction(delayMs: number): void {
    if (this.#compactTimer !== null || this.#released) return;
    this.#compactTimer = setTimeout(() => {
      this.#compactTimer = null;
      // The writes are safe in the journal; a failed fold schedules its own retry.
      void this.#compactNow().catch(() => {});
    }, delayMs);
    // Pending folds must not keep the process alive; `close()` folds them.
    this.#compactTimer.unref();
  }

  #cancelCompaction(): void {
    if (this.#compactTimer !== null) clearTimeout(this.#compactTimer);
    this.#compactTimer = null;
  }

  #compactNow(): Promise<void> {
    this.#cancelCompaction();
    return new Promise<void>((resolve, reject) => this.#enqueue({ kind: 'compact', settle: { resolve, reject } }));
  }

  #assertLockKept(lock: HeldFileLock): void {
    if (lock.lost) {
      throw new ZohoTokenError(
        ErrorCode.STORE_ERROR,
        `${STORE_NAME}: the write lock was taken over while writing; nothing was written`,
      );
    }
  }

  /**
   * Writes `chunks` to a new mode-0600 file beside `target`, flushes it and renames it over
   * `target`: readers see the old file or the new one, never a part. Returns the new file,
   * still open for reading and writing.
   */
  async #replace(target: string, chunks: Buffer[], lock: HeldFileLock, flags = constants.O_RDWR): Promise<Opened> {
    const temporary = `${target}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temporary, flags | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      // The mode given to open() is filtered by the umask; the file holds secrets whatever it is.
      await handle.chmod(0o600);
      // Rows stay encoded between writes; one copy into one buffer beats a write per row.
      await writeAll(handle, Buffer.concat(chunks), 0);
      if (this.#fsync) await handle.sync();
      const key = keyOf(await handle.stat({ bigint: true }));
      this.#assertLockKept(lock);
      await rename(temporary, target);
      return { handle, key };
    } catch (error) {
      await handle.close().catch(() => {});
      await unlink(temporary).catch(() => {});
      throw error;
    }
  }

  async #syncDirectory(): Promise<void> {
    if (!this.#fsync) return;
    const directory = await open(dirname(this.filename), 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }

  /** Temporaries of writers that died mid-write. Under the write lock no live writer has one. */
  async #sweepTemporaries(): Promise<void> {
    const base = basename(this.filename).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const pattern = new RegExp(`^${base}(?:\\.meta|\\.journal)?\\.\\d+-[0-9a-f]+\\.tmp$`);
    const directory = dirname(this.filename);
    for (const name of await readdir(directory)) {
      if (pattern.test(name)) await unlink(`${directory}/${name}`).catch(() => {});
    }
    this.#swept = true;
  }

  async #readMeta(): Promise<number> {
    let text: string;
    try {
      text = await readFile(`${this.filename}.meta`, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    let lastId: unknown;
    try {
      lastId = (JSON.parse(text) as { lastId?: unknown }).lastId;
    } catch {
      // Handled below.
    }
    if (typeof lastId !== 'number' || !Number.isSafeInteger(lastId) || lastId < 0) {
      throw new ZohoTokenError(
        ErrorCode.CORRUPT_RECORD,
        `${STORE_NAME}: ${JSON.stringify(`${this.filename}.meta`)} is not a valid id high-water mark; delete it to start over`,
      );
    }
    return lastId;
  }
}

function tableOf(parsed: ReturnType<typeof parseTokenFile>, metaLastId: number): FileTable {
  const table = new FileTable(parsed.dialect, metaLastId);
  for (const row of parsed.rows) {
    table.index.set(row.record);
    table.lines.set(row.record.id, { text: row.text, fields: row.fields });
  }
  return table;
}

/** Applies one journal entry: the same rows end up in the same places whether it is applied once or twice. */
function applyEntry(table: FileTable, entry: JournalEntry, format: FileFormat): void {
  if (entry.cleared) {
    table.index.clear();
    table.lines.clear();
  }
  for (const id of entry.deleted) {
    table.index.delete(id);
    table.lines.delete(id);
  }
  if (entry.set.length > 0 || table.dialect === null) {
    const from = table.dialect ?? newDialect(format);
    let width = from.header.length;
    for (const record of entry.set) width = Math.max(width, requiredWidth(record));
    const dialect = widenDialect(from, width);
    const pad = padding(from, dialect);
    if (pad !== unchanged) for (const [id, line] of table.lines) table.lines.set(id, pad(line));
    for (const record of entry.set) {
      table.index.set(record);
      table.lines.set(record.id, { text: formatRow(record, width), fields: width });
    }
    table.dialect = dialect;
  }
  table.index.raiseLargestId(entry.lastId);
}

/** The high-water mark to keep in the sidecar when the file's rows no longer hold the largest id; else null. */
function newMetaLastId(table: FileTable): number | null {
  const highWater = table.index.largestId;
  if (highWater <= table.metaLastId) return null;
  let largest = 0;
  for (const id of table.lines.keys()) largest = Math.max(largest, numericId(id) ?? 0);
  return largest < highWater ? highWater : null;
}

/**
 * The writes of one batch, staged over the table: saves see the batch's earlier writes, while
 * finds keep reading the table, which changes only once the journal holds the batch.
 */
class Changes {
  readonly #table: FileTable;
  readonly #set = new RecordIndex();
  readonly #deleted = new Set<string>();
  #cleared = false;
  any = false;

  constructor(table: FileTable) {
    this.#table = table;
    this.#set.raiseLargestId(table.index.largestId);
  }

  save(snapshot: OAuthToken): string {
    const plan = planSave(snapshot, (values) => this.#candidates(values));
    const record = { ...plan.record };
    if (plan.kind === 'insert' && plan.needsId) record.id = nextId(this.#set.largestId);
    this.#deleted.delete(record.id);
    this.#set.set(record);
    this.any = true;
    return record.id;
  }

  delete(id: string): void {
    const staged = this.#set.delete(id) !== undefined;
    const stored = !this.#cleared && this.#table.index.has(id) && !this.#deleted.has(id);
    if (stored) this.#deleted.add(id);
    if (staged || stored) this.any = true;
  }

  clear(): void {
    if (this.#table.index.size > 0 || this.#set.size > 0 || this.#table.dialect === null) this.any = true;
    this.#cleared = true;
    this.#set.clear();
    this.#deleted.clear();
  }

  entry(): JournalEntry {
    return {
      cleared: this.#cleared,
      deleted: [...this.#deleted],
      set: [...this.#set.values()],
      lastId: this.#set.largestId,
    };
  }

  #candidates(values: LookupValues): TokenRecord[] {
    const stored = this.#cleared
      ? []
      : this.#table.index.candidates(values).filter((row) => !this.#set.has(row.id) && !this.#deleted.has(row.id));
    return [...stored, ...this.#set.candidates(values)];
  }
}

/** Rows of a 9-column file get an empty `api_domain` when the file widens, as the SDKs migrate it. */
function padding(from: Dialect, to: Dialect): (line: Line) => Line {
  if (from.header.length >= 10 || to.header.length < 10) return unchanged;
  return (line) => (line.fields < 10 ? { text: `${line.text},`, fields: line.fields + 1 } : line);
}

const unchanged = (line: Line): Line => line;

/** Two turns of the event loop: the second starts with a poll, which delivers the watch events already queued. */
const nextPoll = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

async function statKey(path: string): Promise<FileKey | null> {
  try {
    return keyOf(await stat(path, { bigint: true }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function openFile(path: string, flags: string | number = 'r'): Promise<Opened | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    return { handle, key: keyOf(await handle.stat({ bigint: true })) };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}

/**
 * The journal, open for reading and appending (never created here: a journal starts with its
 * header). Appending: a writer that lost its lock while stalled cannot overwrite others' lines.
 */
async function openJournal(path: string): Promise<Opened | null> {
  return openFile(path, JOURNAL_FLAGS);
}

const JOURNAL_FLAGS = constants.O_RDWR | constants.O_APPEND;

/** Reads from `position` to the end of the file; `expected` bytes are likely there. */
async function readFrom(handle: FileHandle, position: number, expected: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = Math.max(expected, 4096);
  for (;;) {
    const buffer = Buffer.allocUnsafe(size);
    const { bytesRead } = await handle.read(buffer, 0, size, position);
    chunks.push(buffer.subarray(0, bytesRead));
    if (bytesRead < size) return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    position += bytesRead;
    size *= 2;
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += (await handle.write(bytes, offset, bytes.length - offset, position + offset)).bytesWritten;
  }
}

async function closeOpened(opened: Opened | null): Promise<void> {
  await opened?.handle.close().catch(() => {});
}

async function closeSnapshot(snapshot: Snapshot | null): Promise<void> {
  await closeOpened(snapshot?.base ?? null);
  await closeOpened(snapshot?.journal ?? null);
}

function keyOf(stats: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint }): FileKey {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs };
}

function sameFile(a: FileKey, b: FileKey): boolean {
  return a.ino === b.ino && a.dev === b.dev;
}

function sameKey(a: FileKey | null, b: FileKey | null): boolean {
  if (a === null || b === null) return a === b;
  return sameFile(a, b) && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

function checkMs(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `${field} must be an integer of at least ${min} ms`, {
      field,
    });
  }
  return value;
}

function checkBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean')
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `${field} must be true or false`, { field });
  return value;
}

function toStoreError(error: unknown, secrets: string[], what: string): ZohoTokenError {
  if (isZohoTokenError(error)) return error;
  const cause = sanitizeCause(error, secrets);
  return new ZohoTokenError(ErrorCode.STORE_ERROR, `${STORE_NAME}: ${what}: ${cause.message}`, { cause });
}

function secretsOf(token: OAuthToken): string[] {
  return SECRET_FIELDS.map((field) => token[field]).filter((value): value is string => typeof value === 'string');
}
