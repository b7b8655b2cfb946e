import { randomBytes } from 'node:crypto';
import { open, readFile, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../errors.js';
import { sanitizeCause } from '../redact.js';
import { SECRET_FIELDS, type OAuthToken } from '../token/oauth-token.js';
import { tokenFromRecord, type TokenRecord } from '../token/token-record.js';
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
import { FileStoreLock, MIN_STALE_MS, acquireFileLock, type HeldFileLock } from './file-lock.js';
import { checkId, findMatch, nextId, numericId, planSave, snapshotToken, type LookupValues } from './matching.js';
import { RecordIndex } from './record-index.js';
import type { TokenStore } from './token-store.js';

const STORE_NAME = 'FileStore';

export interface FileStoreOptions {
  /**
   * Path of the token file, in the official SDKs' format. Created (mode 0600) on the first write;
   * its directory must exist.
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
   * Flush every write to disk (the file, then its directory) before the save resolves, so an
   * acknowledged save survives a power loss. With `false` a write is still atomic (a crash of the
   * process never loses or tears an acknowledged save) but the last saves may be lost on power loss.
   * @default true
   */
  fsync?: boolean;
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

/** Identity of one version of the file. Every write renames a new file in, so the inode changes. */
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

/** The parsed file: rows by id with their text, in file order. Changed only after a write reached the file. */
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
 * One version of the file in memory. Its handle stays open while it is current: an inode that is
 * still open cannot be reused by a newer file, so an equal inode number means the same file.
 */
interface Snapshot {
  readonly table: FileTable;
  readonly key: FileKey | null;
  readonly handle: FileHandle | null;
  /** Order of snapshots: a slow load started before a write never replaces the write's result. */
  readonly epoch: number;
}

type WriteOp =
  | { kind: 'save'; snapshot: OAuthToken; settle: Settle<string> }
  | { kind: 'delete'; id: string; settle: Settle<void> }
  | { kind: 'clear'; settle: Settle<void> };

interface Settle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * The official SDKs' token file, without their defects: reads are served from a parsed copy
 * with per-column indexes, re-read only when the file changed (one async `stat` per call); every
 * write replaces the whole file atomically (temporary file, fsync, rename, directory fsync) under
 * a cross-process lock, after re-reading the file under that lock; concurrent saves of one
 * process share one rewrite. Files and temporaries are mode 0600. See docs/stores/file.md.
 */
export class FileStore implements TokenStore {
  /** Absolute path of the token file. */
  readonly filename: string;
  readonly lock: FileStoreLock;
  readonly #format: FileFormat;
  readonly #fsync: boolean;
  readonly #lockStaleMs: number;
  readonly #lockWaitMs: number;
  #snapshot: Snapshot | null = null;
  #loading: Promise<Snapshot> | null = null;
  #epoch = 0;
  #ready = false;
  #swept = false;
  #queue: WriteOp[] = [];
  #draining: Promise<void> | null = null;
  #closed = false;

  constructor(options: FileStoreOptions = {}) {
    const filename = options.filename ?? 'sdk_tokens.txt';
    if (typeof filename !== 'string' || filename === '') {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'filename must be a non-empty path', { field: 'filename' });
    }
    this.filename = resolve(filename);
    this.#format = options.format ?? 'typescript';
    if (this.#format !== 'typescript' && this.#format !== 'python') {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, "format must be 'typescript' or 'python'", { field: 'format' });
    }
    this.#fsync = options.fsync ?? true;
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
    token.id = await new Promise<string>((resolve, reject) => this.#enqueue({ kind: 'save', snapshot, settle: { resolve, reject } }));
  }

  async deleteToken(id: string): Promise<void> {
    this.#assertOpen();
    const key = checkId(id, 'deleteToken');
    // Deleting what is not there needs no lock and no write.
    if (key === null || !(await this.#read()).index.has(key)) return;
    await new Promise<void>((resolve, reject) => this.#enqueue({ kind: 'delete', id: key, settle: { resolve, reject } }));
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

  /** Waits for queued writes, then releases the open file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#draining;
    await this.#loading?.catch(() => {});
    const handle = this.#snapshot?.handle;
    this.#snapshot = null;
    await handle?.close().catch(() => {});
  }

  #assertOpen(): void {
    if (this.#closed) throw new ZohoTokenError(ErrorCode.STORE_CLOSED, `${STORE_NAME} is closed`);
  }

  // --- reading -------------------------------------------------------------------------------

  async #read(): Promise<FileTable> {
    try {
      return await this.#current();
    } catch (error) {
      throw toStoreError(error, [], 'cannot read the token file');
    }
  }

  /** The table of the file as it is now: the cached one when the file is unchanged. */
  async #current(): Promise<FileTable> {
    await this.#checkDirectory();
    for (;;) {
      const key = await statKey(this.filename);
      if (this.#snapshot && sameKey(this.#snapshot.key, key)) return this.#snapshot.table;
      if (this.#loading) {
        // Another call is reading the file; its result may be the version we just saw.
        await this.#loading.catch(() => {});
        continue;
      }
      const loading = this.#load();
      this.#loading = loading;
      try {
        return (await loading).table;
      } finally {
        if (this.#loading === loading) this.#loading = null;
      }
    }
  }

  async #load(): Promise<Snapshot> {
    // An official SDK rewrites the file in place: a read that overlaps such a write is retried.
    for (let attempt = 1; ; attempt++) {
      const epoch = ++this.#epoch;
      let handle: FileHandle | null = null;
      try {
        handle = await open(this.filename, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      if (handle === null) return this.#install({ table: new FileTable(null, await this.#readMeta()), key: null, handle: null, epoch });
      try {
        const stats = await handle.stat({ bigint: true });
        const text = await handle.readFile({ encoding: 'utf8' });
        let table: FileTable;
        try {
          table = tableOf(parseTokenFile(text, this.filename), await this.#readMeta());
        } catch (error) {
          const changed = !sameKey(keyOf(stats), await statKey(this.filename));
          if (changed && attempt < 3) {
            await handle.close();
            continue;
          }
          throw error;
        }
        return this.#install({ table, key: keyOf(stats), handle, epoch });
      } catch (error) {
        await handle.close().catch(() => {});
        throw error;
      }
    }
  }

  /** Makes `next` current unless a newer snapshot already is; closes whichever is dropped. */
  #install(next: Snapshot): Snapshot {
    const current = this.#snapshot;
    if (this.#closed || (current !== null && current.epoch > next.epoch)) {
      void next.handle?.close().catch(() => {});
      return next;
    }
    this.#snapshot = next;
    if (current?.handle && current.handle !== next.handle) void current.handle.close().catch(() => {});
    return next;
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
    this.#ready = true;
  }

  // --- writing -------------------------------------------------------------------------------

  #enqueue(op: WriteOp): void {
    this.#queue.push(op);
    this.#draining ??= this.#drain();
  }

  /** Writes run one batch at a time; saves that arrive meanwhile form the next batch (group commit). */
  async #drain(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      await this.#commit(batch);
    }
    this.#draining = null;
  }

  async #commit(batch: WriteOp[]): Promise<void> {
    const outcomes = new Map<WriteOp, { id?: string; error?: unknown }>(batch.map((op) => [op, {}]));
    let lock: HeldFileLock | null = null;
    try {
      await this.#checkDirectory();
      lock = await acquireFileLock(`${this.filename}.lock`, { staleMs: this.#lockStaleMs, waitMs: this.#lockWaitMs });
      if (lock === null) {
        throw new ZohoTokenError(
          ErrorCode.STORE_ERROR,
          `${STORE_NAME}: another process held the write lock of the token file for over ${this.#lockWaitMs} ms`,
        );
      }
      if (!this.#swept) await this.#sweepTemporaries();
      // Another process may have written since our last read: plan against the file as it is now.
      const table = await this.#current();
      const changes = new Changes(table);
      for (const op of batch) {
        const outcome = outcomes.get(op)!;
        try {
          if (op.kind === 'save') outcome.id = changes.save(op.snapshot);
          else if (op.kind === 'delete') changes.delete(op.id);
          else changes.clear();
        } catch (error) {
          outcome.error = error;
        }
      }
      if (changes.any) await this.#write(table, changes, lock);
    } catch (error) {
      for (const outcome of outcomes.values()) outcome.error ??= error;
    } finally {
      await lock?.release().catch(() => {});
    }
    for (const op of batch) {
      const { id, error } = outcomes.get(op)!;
      if (error !== undefined) {
        op.settle.reject(toStoreError(error, op.kind === 'save' ? secretsOf(op.snapshot) : [], 'cannot write the token file'));
      } else if (op.kind === 'save') op.settle.resolve(id!);
      else op.settle.resolve();
    }
  }

  async #write(table: FileTable, changes: Changes, lock: HeldFileLock): Promise<void> {
    const plan = changes.plan(this.#format);
    if (plan.metaLastId !== null) {
      // The largest id leaves the file: keep it beside, before the rows that held it are gone.
      const meta = await this.#replace(`${this.filename}.meta`, [Buffer.from(`${JSON.stringify({ lastId: plan.metaLastId })}\n`)], lock);
      await meta.handle.close();
      await this.#syncDirectory();
    }
    const { handle, key } = await this.#replace(this.filename, plan.chunks, lock);
    const epoch = ++this.#epoch;
    changes.commit(plan);
    this.#install({ table, key, handle, epoch });
    await this.#syncDirectory();
  }

  /**
   * Writes `chunks` to a new mode-0600 file beside `target`, flushes it and renames it over
   * `target`: readers see the old file or the new one, never a part. Returns the new file's
   * handle, still open.
   */
  async #replace(target: string, chunks: Buffer[], lock: HeldFileLock): Promise<{ handle: FileHandle; key: FileKey }> {
    const temporary = `${target}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temporary, 'wx', 0o600);
    try {
      // The mode given to open() is filtered by the umask; the file holds secrets whatever it is.
      await handle.chmod(0o600);
      // Rows stay encoded between writes; one copy into one buffer beats a write per row.
      const bytes = Buffer.concat(chunks);
      for (let offset = 0; offset < bytes.length; ) offset += (await handle.write(bytes, offset)).bytesWritten;
      if (this.#fsync) await handle.sync();
      const key = keyOf(await handle.stat({ bigint: true }));
      if (lock.lost) {
        throw new ZohoTokenError(ErrorCode.STORE_ERROR, `${STORE_NAME}: the write lock was taken over while writing; nothing was written`);
      }
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
    const pattern = new RegExp(`^${base}(?:\\.meta)?\\.\\d+-[0-9a-f]+\\.tmp$`);
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

interface WritePlan {
  readonly dialect: Dialect;
  readonly chunks: Buffer[];
  /** The text of every changed row. */
  readonly lines: Map<string, Line>;
  /** A new high-water mark for the sidecar, or null when the file itself still holds it. */
  readonly metaLastId: number | null;
}

/**
 * The writes of one batch, staged over the table: saves see the batch's earlier writes, while
 * finds keep reading the table, which changes only once the new file is in place (`commit`).
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

  #candidates(values: LookupValues): TokenRecord[] {
    const stored = this.#cleared
      ? []
      : this.#table.index.candidates(values).filter((row) => !this.#set.has(row.id) && !this.#deleted.has(row.id));
    return [...stored, ...this.#set.candidates(values)];
  }

  #kept(id: string): boolean {
    return !this.#cleared && !this.#deleted.has(id);
  }

  plan(format: FileFormat): WritePlan {
    const base = this.#table.dialect ?? newDialect(format);
    let width = base.header.length;
    for (const record of this.#set.values()) width = Math.max(width, requiredWidth(record));
    const dialect = widenDialect(base, width);
    const pad = padding(base, dialect);
    const bytes = (line: Line): Buffer => (line.bytes ??= rowBytes(dialect, line.text));
    const lines = new Map<string, Line>();
    for (const record of this.#set.values()) lines.set(record.id, { text: formatRow(record, width), fields: width });
    const rows: Buffer[] = [];
    for (const [id, line] of this.#table.lines) {
      if (!this.#kept(id)) continue;
      const changed = lines.get(id);
      rows.push(bytes(changed ?? (pad === unchanged ? line : pad(line))));
    }
    for (const [id, line] of lines) if (this.#cleared || !this.#table.lines.has(id)) rows.push(bytes(line));
    return { dialect, chunks: fileChunks(dialect, rows), lines, metaLastId: this.#newMetaLastId() };
  }

  /** Applies the batch to the table, in the order `plan` wrote the rows. */
  commit(plan: WritePlan): void {
    const table = this.#table;
    const pad = padding(table.dialect ?? plan.dialect, plan.dialect);
    if (this.#cleared) {
      table.index.clear();
      table.lines.clear();
    }
    for (const id of this.#deleted) {
      table.index.delete(id);
      table.lines.delete(id);
    }
    if (pad !== unchanged) for (const [id, line] of table.lines) table.lines.set(id, pad(line));
    for (const record of this.#set.values()) {
      table.index.set(record);
      table.lines.set(record.id, plan.lines.get(record.id)!);
    }
    table.index.raiseLargestId(this.#set.largestId);
    table.dialect = plan.dialect;
    if (plan.metaLastId !== null) table.metaLastId = plan.metaLastId;
  }

  #newMetaLastId(): number | null {
    const highWater = this.#set.largestId;
    if (this.#deleted.size === 0 && !this.#cleared) return null;
    if (highWater <= this.#table.metaLastId) return null;
    let largest = 0;
    for (const record of this.#set.values()) largest = Math.max(largest, numericId(record.id) ?? 0);
    for (const id of this.#table.lines.keys()) if (this.#kept(id)) largest = Math.max(largest, numericId(id) ?? 0);
    return largest < highWater ? highWater : null;
  }
}

/** Rows of a 9-column file get an empty `api_domain` when the file widens, as the SDKs migrate it. */
function padding(from: Dialect, to: Dialect): (line: Line) => Line {
  if (from.header.length >= 10 || to.header.length < 10) return unchanged;
  return (line) => (line.fields < 10 ? { text: `${line.text},`, fields: line.fields + 1 } : line);
}

const unchanged = (line: Line): Line => line;

async function statKey(path: string): Promise<FileKey | null> {
  try {
    return keyOf(await stat(path, { bigint: true }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function keyOf(stats: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint }): FileKey {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs };
}

function sameKey(a: FileKey | null, b: FileKey | null): boolean {
  if (a === null || b === null) return a === b;
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

function checkMs(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `${field} must be an integer of at least ${min} ms`, { field });
  }
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
