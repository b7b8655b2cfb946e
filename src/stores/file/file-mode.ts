/**
 * Files that hold tokens must be private to their owner. The stores create theirs with mode 0600,
 * but a file made earlier by someone else (an official SDK writes 0644, a copy keeps its mode, a
 * umask of 000) stays readable by the group or everyone: each store tightens the files it opens to
 * 0600, and warns when it cannot (another owner, a read-only mount), naming only the path.
 */
import { chmodSync, statSync } from 'node:fs';
import { chmod, stat } from 'node:fs/promises';

/** The `code` of the process warning emitted when a token file cannot be made private. */
export const FILE_MODE_WARNING = 'ZOHO_TOKEN_STORE_FILE_MODE';

/** Mode of the files that hold tokens. */
export const PRIVATE_FILE_MODE = 0o600;
/** Mode of the lock directories, whatever the umask. */
export const PRIVATE_DIRECTORY_MODE = 0o700;

const GROUP_OR_OTHER = 0o077;

/** Makes each existing file of `paths` 0600 if its group or others have any access; a missing file is skipped. */
export async function tightenFileModes(paths: readonly string[], what: string): Promise<void> {
  for (const path of paths) {
    let mode: number;
    try {
      mode = (await stat(path)).mode;
    } catch {
      // Missing (or unreadable, which the store reports when it opens it).
      continue;
    }
    if ((mode & GROUP_OR_OTHER) === 0) continue;
    try {
      await chmod(path, PRIVATE_FILE_MODE);
    } catch (error) {
      warn(path, mode, what, error);
    }
  }
}

/** As `tightenFileModes`, for a store that opens its file synchronously. */
export function tightenFileModesSync(paths: readonly string[], what: string): void {
  for (const path of paths) {
    let mode: number;
    try {
      mode = statSync(path).mode;
    } catch {
      continue;
    }
    if ((mode & GROUP_OR_OTHER) === 0) continue;
    try {
      chmodSync(path, PRIVATE_FILE_MODE);
    } catch (error) {
      warn(path, mode, what, error);
    }
  }
}

function warn(path: string, mode: number, what: string, error: unknown): void {
  // The path and the errno code only: never the file's content.
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
  process.emitWarning(
    `${what}: ${JSON.stringify(path)} holds tokens and is readable by others (mode 0${(mode & 0o777).toString(8)}), ` +
      `and could not be made 0600 (${code}); run chmod 600 on it as its owner`,
    { code: FILE_MODE_WARNING },
  );
}
