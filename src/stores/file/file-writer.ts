/**
 * The writer of FileStore: a queue of writes committed in batches (group commit) under the
 * cross-process write lock, kept a moment after a batch in case another follows; each batch is
 * one flushed line appended to the journal, and the journal is folded into the token file
 * (temporary file, fsync, rename, directory fsync), with the id high-water mark kept beside it.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { ErrorCode, ZohoTokenError } from '../../errors.js';
import type { OAuthToken } from '../../token/oauth-token.js';
import { fileChunks, newDialect, rowBytes, type FileFormat } from './file-format.js';
import { JOURNAL_FLAGS, keyOf, writeAll, type FileKey, type Opened } from './file-io.js';
import { JOURNAL_HEADER, encodeEntry, type JournalEntry } from './file-journal.js';
import { acquireFileLock, type HeldFileLock } from './file-lock.js';
import type { Snapshot, SnapshotReader } from './file-snapshot.js';
import { Changes, applyEntry, newMetaLastId } from './file-table.js';
import { secretsOf, type StoreErrors } from '../kit/store-errors.js';

/** A journal this long is folded into the file by the write that made it so, whatever the delay. */
const JOURNAL_MAX_BYTES = 1024 * 1024;
/** A writer keeps the write lock this long after a batch, in case its caller saves again… */
const LINGER_MS = 2;
/** …but never longer than this in one go, so that other processes get their turn. */
const MAX_HOLD_MS = 50;
/** A failed fold (disk full…) is tried again after at least this long. */
const FOLD_RETRY_MS = 1000;

/** One queued write and how to answer its caller. */
export type WriteOp =
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

/** What the writer is given by its store. */
export interface FileWriterOptions {
  readonly errors: StoreErrors;
  /** Absolute path of the token file. */
  readonly filename: string;
  /** Path of the journal beside it. */
  readonly journalPath: string;
  /** Form of a new file. */
  readonly format: FileFormat;
  /** Whether to flush every write (and directory change) to disk. */
  readonly fsync: boolean;
  /** How long after a write the journal is folded, in ms; 0 folds every write at once. */
  readonly compactDelayMs: number;
  readonly lockStaleMs: number;
  readonly lockWaitMs: number;
  /** The store's snapshot: writes plan against it, and change it once they reached the disk. */
  readonly reader: SnapshotReader;
}

/** Answers each write of a batch with its outcome. */
function settle(errors: StoreErrors, batch: readonly WriteOp[], outcomes: ReadonlyMap<WriteOp, Outcome>): void {
  for (const op of batch) {
    const { id, error } = outcomes.get(op)!;
    if (error !== undefined) {
      op.settle.reject(
        errors.wrap(error, 'cannot write the token file', op.kind === 'save' ? secretsOf(op.snapshot) : []),
      );
    } else if (op.kind === 'save') op.settle.resolve(id!);
    else op.settle.resolve();
  }
}

/** Commits the writes of one store, one batch at a time. */
export class FileWriter {
  readonly #options: FileWriterOptions;
  readonly #reader: SnapshotReader;
  readonly #filename: string;
  readonly #journalPath: string;
  readonly #fsync: boolean;
  readonly #compactDelayMs: number;
  #swept = false;
  #queue: WriteOp[] = [];
  #draining: Promise<void> | null = null;
  /** Set while a write session lingers with the lock: a new write wakes it. */
  #wake: (() => void) | null = null;
  #compactTimer: NodeJS.Timeout | null = null;

  constructor(options: FileWriterOptions) {
    this.#options = options;
    this.#reader = options.reader;
    this.#filename = options.filename;
    this.#journalPath = options.journalPath;
    this.#fsync = options.fsync;
    this.#compactDelayMs = options.compactDelayMs;
  }

  /** The queued writes being committed; null when the queue is empty. */
  get draining(): Promise<void> | null {
    return this.#draining;
  }

  /** Whether a fold is scheduled: this store has writes in the journal not folded yet. */
  get foldPending(): boolean {
    return this.#compactTimer !== null;
  }

  /** Queues a write; its `settle` answers once it is on disk (or failed). */
  enqueue(op: WriteOp): void {
    this.#queue.push(op);
    this.#wake?.();
    this.#draining ??= this.#drain();
  }

  /** Folds the journal into the token file (through the queue, after the writes queued before). */
  compactNow(): Promise<void> {
    this.cancelCompaction();
    return new Promise<void>((resolve, reject) => this.enqueue({ kind: 'compact', settle: { resolve, reject } }));
  }

  /** Folds the journal `delayMs` from now, unless a fold is scheduled already or the files are let go. */
  scheduleCompaction(delayMs: number): void {
    if (this.#compactTimer !== null || this.#reader.released) return;
    this.#compactTimer = setTimeout(() => {
      this.#compactTimer = null;
      // The writes are safe in the journal; a failed fold schedules its own retry.
      void this.compactNow().catch(() => {});
    }, delayMs);
    // Pending folds must not keep the process alive; `close()` folds them.
    this.#compactTimer.unref();
  }

  /** Drops the scheduled fold, if any. */
  cancelCompaction(): void {
    if (this.#compactTimer !== null) clearTimeout(this.#compactTimer);
    this.#compactTimer = null;
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
        await this.#reader.checkDirectory();
        lock = await acquireFileLock(`${this.#filename}.lock`, {
          staleMs: this.#options.lockStaleMs,
          waitMs: this.#options.lockWaitMs,
        });
        if (lock === null) {
          throw new ZohoTokenError(
            ErrorCode.STORE_ERROR,
            `${this.#options.errors.name}: another process held the write lock of the token file for over ${this.#options.lockWaitMs} ms`,
          );
        }
        if (!this.#swept) await this.#sweepTemporaries();
      } catch (error) {
        const batch = this.#queue;
        this.#queue = [];
        settle(this.#options.errors, batch, new Map(batch.map((op) => [op, { error }])));
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
      const snapshot = await this.#reader.currentSnapshot();
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
      const journalSize = this.#reader.snapshot?.journalEnd ?? 0;
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
    if (foldFailed) this.scheduleCompaction(Math.max(this.#compactDelayMs, FOLD_RETRY_MS));
    else if (appended) this.scheduleCompaction(this.#compactDelayMs);
    settle(this.#options.errors, batch, outcomes);
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
    await this.#reader.exclusive(() => {
      if (this.#reader.snapshot !== snapshot) {
        // Replaced by a reader's load, which read the journal itself.
        if (handle !== snapshot.journal?.handle && handle !== this.#reader.snapshot?.journal?.handle)
          void handle.close().catch(() => {});
        return;
      }
      applyEntry(snapshot.table, entry, this.#options.format);
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
    const snapshot = await this.#reader.currentSnapshot();
    // Nothing to fold: no journal, or one with nothing after its header.
    if (snapshot.journal === null) return;
    if (snapshot.journalEntries === 0 && Number(snapshot.journal.key.size) === JOURNAL_HEADER.length) return;
    const { table } = snapshot;
    const metaLastId = newMetaLastId(table);
    if (metaLastId !== null) {
      // The largest id leaves the file: keep it beside, before the rows that held it are gone.
      const meta = await this.#replace(
        `${this.#filename}.meta`,
        [Buffer.from(`${JSON.stringify({ lastId: metaLastId })}\n`)],
        lock,
      );
      await meta.handle.close();
      await this.#syncDirectory();
    }
    const dialect = table.dialect ?? newDialect(this.#options.format);
    const rows = [...table.lines.values()].map((line) => (line.bytes ??= rowBytes(dialect, line.text)));
    // The new file first: a crash before the journal is replaced re-applies the journal to a file
    // that holds it already, which changes nothing.
    const base = await this.#replace(this.#filename, fileChunks(dialect, rows), lock);
    let journal: Opened;
    try {
      // The new file must be on disk before the journal that it replaces is gone.
      await this.#syncDirectory();
      journal = await this.#replace(this.#journalPath, [JOURNAL_HEADER], lock, JOURNAL_FLAGS);
    } catch (error) {
      await base.handle.close().catch(() => {});
      throw error;
    }
    await this.#reader.exclusive(() => {
      if (metaLastId !== null) table.metaLastId = metaLastId;
      table.dialect = dialect;
      this.#reader.install({
        table,
        base,
        journal,
        journalEnd: JOURNAL_HEADER.length,
        journalEntries: 0,
        epoch: this.#reader.nextEpoch(),
      });
    });
    await this.#syncDirectory();
  }

  #assertLockKept(lock: HeldFileLock): void {
    if (lock.lost) {
      throw new ZohoTokenError(
        ErrorCode.STORE_ERROR,
        `${this.#options.errors.name}: the write lock was taken over while writing; nothing was written`,
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
    const directory = await open(dirname(this.#filename), 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }

  /** Temporaries of writers that died mid-write. Under the write lock no live writer has one. */
  async #sweepTemporaries(): Promise<void> {
    const base = basename(this.#filename).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const pattern = new RegExp(`^${base}(?:\\.meta|\\.journal)?\\.\\d+-[0-9a-f]+\\.tmp$`);
    const directory = dirname(this.#filename);
    for (const name of await readdir(directory)) {
      if (pattern.test(name)) await unlink(`${directory}/${name}`).catch(() => {});
    }
    this.#swept = true;
  }
}
