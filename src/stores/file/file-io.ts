/**
 * Small file-system helpers of FileStore: the identity of a file version (`FileKey`), files kept
 * open while current (`Opened`), and reads and writes that go to the end.
 */
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';

/** Identity of one version of a file: a replaced file has a new inode, a changed one a new size or mtime. */
export interface FileKey {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
}

/**
 * An open file and the version of it read. Its handle stays open while it is current: an inode
 * that is still open cannot be reused by a newer file, so an equal inode number means the same file.
 */
export interface Opened {
  readonly handle: FileHandle;
  key: FileKey;
}

/** Flags of the journal's handles (see `openJournal`). */
export const JOURNAL_FLAGS = constants.O_RDWR | constants.O_APPEND;

/** The version of the file at `path` now; null when there is none. */
export async function statKey(path: string): Promise<FileKey | null> {
  try {
    return keyOf(await stat(path, { bigint: true }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Opens the file at `path` and notes its version; null when there is none. */
export async function openFile(path: string, flags: string | number = 'r'): Promise<Opened | null> {
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
export async function openJournal(path: string): Promise<Opened | null> {
  return openFile(path, JOURNAL_FLAGS);
}

/** Reads from `position` to the end of the file; `expected` bytes are likely there. */
export async function readFrom(handle: FileHandle, position: number, expected: number): Promise<Buffer> {
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

/** Writes all of `bytes` at `position`, however many writes it takes. */
export async function writeAll(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += (await handle.write(bytes, offset, bytes.length - offset, position + offset)).bytesWritten;
  }
}

/** Closes an opened file, if any; a failed close is of no concern. */
export async function closeOpened(opened: Opened | null): Promise<void> {
  await opened?.handle.close().catch(() => {});
}

/** The version a `stat` (with `bigint: true`) reports. */
export function keyOf(stats: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint }): FileKey {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs };
}

/** Whether two versions are of the same file (same inode), whatever changed in it. */
export function sameFile(a: FileKey, b: FileKey): boolean {
  return a.ino === b.ino && a.dev === b.dev;
}

/** Whether two versions are the same version of the same file; two missing files are the same. */
export function sameKey(a: FileKey | null, b: FileKey | null): boolean {
  if (a === null || b === null) return a === b;
  return sameFile(a, b) && a.size === b.size && a.mtimeNs === b.mtimeNs;
}
