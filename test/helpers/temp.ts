import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A private temporary directory removed when the test file ends. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `zts-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
