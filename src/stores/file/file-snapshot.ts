/**
 * The reader of FileStore: the table as the files hold it, cached with the files it was read
 * from, checked against them when the directory watch reports a change (or on every read
 * without a watch), and brought up to them by reading only the journal's new lines when the
 * token file is unchanged.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, ZohoTokenError } from '../../errors.js';
import { parseTokenFile, type FileFormat } from './file-format.js';
import {
  closeOpened,
  openFile,
  openJournal,
  readFrom,
  sameFile,
  sameKey,
  statKey,
  type FileKey,
  type Opened,
} from './file-io.js';
import { decodeJournal } from './file-journal.js';
import { tightenFileModes } from './file-mode.js';
import { FileTable, applyEntry, tableOf } from './file-table.js';
import { backoffMs } from '../kit/backoff.js';

/** Even with nothing reported by the directory watch, a read checks the files this often. */
const REVALIDATE_MS = 1000;
/** Reads overlapping a fold are retried this often (with jittered back-off) before STORE_ERROR. */
const READ_ATTEMPTS = 40;

/** The token file plus the journal entries read so far. */
export interface Snapshot {
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

/** What the reader is given by its store. */
export interface SnapshotReaderOptions {
  /** The store's class name, for messages. */
  readonly storeName: string;
  /** Absolute path of the token file. */
  readonly filename: string;
  /** Path of the journal beside it. */
  readonly journalPath: string;
  /** Form of a new file. */
  readonly format: FileFormat;
  /** Whether to learn of changes from a directory watch. */
  readonly watch: boolean;
  /** How many of the store's locks this process holds: while it holds one, the watch is not trusted. */
  locksHeld(): number;
  /** Whether the store is closed: a closed store starts no watch. */
  closed(): boolean;
  /** A load found journal entries not folded into the token file yet (a crashed writer's): fold them. */
  journalPending(): void;
}

/** Closes the files of a snapshot, if any. */
export async function closeSnapshot(snapshot: Snapshot | null): Promise<void> {
  await closeOpened(snapshot?.base ?? null);
  await closeOpened(snapshot?.journal ?? null);
}

/**
 * Keeps the current snapshot of the files. Its handles stay open while it is current (see
 * `Opened`); loads and journal reads change it one at a time, and a write changes it through
 * `exclusive` and `install`, in between them.
 */
export class SnapshotReader {
  readonly #options: SnapshotReaderOptions;
  readonly #filename: string;
  readonly #journalPath: string;
  #snapshot: Snapshot | null = null;
  /** The one load or journal read in flight: they change the snapshot, so they run one at a time. */
  #updating: Promise<unknown> | null = null;
  #epoch = 0;
  #ready = false;
  /** undefined: not started yet; null: not used (disabled or failed). */
  #watcher: FSWatcher | null | undefined = undefined;
  /** Set by the watch when a file may have changed since the last check. */
  #dirty = true;
  #checkedAt = 0;
  /** Set once the store has finished the writes: the files are then let go. */
  #released = false;
  /** Checks of the files in flight: while one runs, a read cannot trust the cache. */
  #checks = 0;

  constructor(options: SnapshotReaderOptions) {
    this.#options = options;
    this.#filename = options.filename;
    this.#journalPath = options.journalPath;
  }

  /** The current snapshot; null before the first read and once released. */
  get snapshot(): Snapshot | null {
    return this.#snapshot;
  }

  /** Whether the files were let go (`release`). */
  get released(): boolean {
    return this.#released;
  }

  /** A new epoch, for a snapshot about to be made. */
  nextEpoch(): number {
    return ++this.#epoch;
  }

  /**
   * Waits for a load or journal read in flight, then lets go of the files: `onReleased` runs
   * first (nothing can run between the two), then the watch stops and the handles close.
   */
  async release(onReleased: () => void): Promise<void> {
    await this.#updating?.catch(() => {});
    this.#released = true;
    onReleased();
    this.#watcher?.close();
    this.#watcher = null;
    const snapshot = this.#snapshot;
    this.#snapshot = null;
    await closeSnapshot(snapshot);
  }

  /**
   * The tokens as the files hold them now. Unless `strict`, the cached table is trusted when the
   * watch reported nothing: a change another process acknowledged before this call queued its
   * watch event before this call, and two turns of the event loop deliver it.
   */
  async current(strict: boolean): Promise<FileTable> {
    await this.checkDirectory();
    this.#startWatching();
    const snapshot = this.#snapshot;
    if (!strict && snapshot !== null && this.#watcher && this.#options.locksHeld() === 0) {
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

  /** The snapshot as the files are now; for writers, under the write lock. */
  async currentSnapshot(): Promise<Snapshot> {
    const table = await this.current(true);
    const snapshot = this.#snapshot;
    if (snapshot === null || snapshot.table !== table) {
      throw new ZohoTokenError(
        ErrorCode.STORE_ERROR,
        `${this.#options.storeName}: the token file changed while it was being written; nothing was written`,
      );
    }
    return snapshot;
  }

  /** Runs `change` to the snapshot after any load or journal read in flight, and before the next. */
  async exclusive(change: () => void): Promise<void> {
    while (this.#updating) await this.#updating.catch(() => {});
    change();
  }

  /** Makes `next` current unless a newer snapshot already is; closes whichever is dropped. */
  install(next: Snapshot): Snapshot {
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

  /**
   * Fails unless the token file's directory exists; once it does, makes the store's files
   * private (an official SDK writes them 0644, a copy keeps its mode).
   */
  async checkDirectory(): Promise<void> {
    if (this.#ready) return;
    const directory = dirname(this.#filename);
    const stats = await stat(directory).catch(() => null);
    if (!stats?.isDirectory()) {
      throw new ZohoTokenError(
        ErrorCode.STORE_ERROR,
        `${this.#options.storeName}: the directory of the token file does not exist: ${JSON.stringify(directory)}`,
      );
    }
    // Files an official SDK (0644) or a copy left readable by others: private from now on.
    await tightenFileModes([this.#filename, this.#journalPath, `${this.#filename}.meta`], this.#options.storeName);
    this.#ready = true;
  }

  /** Compares both files with the snapshot, and brings it up to them. */
  async #check(): Promise<FileTable> {
    for (;;) {
      this.#dirty = false;
      const checkedAt = Date.now();
      // One after the other: two at once cost more here (a thread-pool round trip each, on 2 cores).
      const baseKey = await statKey(this.#filename);
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
    for (const entry of decoded.entries) applyEntry(snapshot.table, entry, this.#options.format);
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
      if (!sameKey(await statKey(this.#filename), baseKey)) {
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
      const base = await openFile(this.#filename);
      let journal: Opened | null = null;
      try {
        let table: FileTable;
        const meta = await this.#readMeta();
        if (base === null) {
          table = new FileTable(null, meta);
        } else {
          const text = await base.handle.readFile({ encoding: 'utf8' });
          try {
            table = tableOf(parseTokenFile(text, this.#filename), meta);
          } catch (error) {
            if (!sameKey(base.key, await statKey(this.#filename)) && attempt < 3) continue;
            throw error;
          }
        }
        journal = await openJournal(this.#journalPath);
        if (!sameKey(base?.key ?? null, await statKey(this.#filename))) {
          // Writers fold on every save (compactDelayMs 0): a reader racing them backs off with
          // jitter so it lands between two folds instead of failing after a few quick tries.
          if (attempt < READ_ATTEMPTS) {
            if (attempt >= 3) await sleep(backoffMs(attempt, { baseMs: 1, capMs: 50 }));
            continue;
          }
          throw new ZohoTokenError(
            ErrorCode.STORE_ERROR,
            `${this.#options.storeName}: the token file kept changing while it was read`,
          );
        }
        const snapshot: Snapshot = { table, base, journal: null, journalEnd: 0, journalEntries: 0, epoch };
        if (journal) await this.#readJournal(snapshot, journal.handle, journal.key);
        journal = null;
        // Writes a crashed process left in the journal reach the token file without waiting for a new write.
        if (snapshot.journalEntries > 0) this.#options.journalPending();
        return this.install(snapshot);
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

  #startWatching(): void {
    if (this.#watcher !== undefined || this.#options.closed()) return;
    this.#watcher = null;
    // inotify reports a change before the write that made it returns; other platforms' watches lag.
    if (!this.#options.watch || process.platform !== 'linux') return;
    const names = new Set([basename(this.#filename), basename(this.#journalPath)]);
    try {
      // Not persistent: a store must not keep its process alive.
      const watcher = watch(dirname(this.#filename), { persistent: false }, (_event, name) => {
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

  async #readMeta(): Promise<number> {
    let text: string;
    try {
      text = await readFile(`${this.#filename}.meta`, 'utf8');
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
        `${this.#options.storeName}: ${JSON.stringify(`${this.#filename}.meta`)} is not a valid id high-water mark; delete it to start over`,
      );
    }
    return lastId;
  }
}

/** Two turns of the event loop: the second starts with a poll, which delivers the watch events already queued. */
const nextPoll = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
