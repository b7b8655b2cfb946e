import { readFileSync } from 'node:fs';
import type { Ledger } from './ledger.js';

/**
 * Searches the workers' captured output (logger lines and stderr) for every secret the emulators
 * issued: any 32-hex half of a token or grant code, and each store's client secret. Adds the hits
 * to each store's figures; returns how many bytes were searched.
 */
export function scanLogsForSecrets(files: readonly string[], ledgers: readonly Ledger[]): number {
  let bytes = 0;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // a worker that never wrote anything
    }
    bytes += text.length;
    for (const ledger of ledgers) {
      let from = 0;
      for (let at = text.indexOf(ledger.clientSecret, from); at >= 0; at = text.indexOf(ledger.clientSecret, from)) {
        ledger.figures.secretsInLogs++;
        from = at + 1;
      }
    }
    for (const run of text.match(/[0-9a-f]{32,}/g) ?? []) {
      // Every 32-character window: a secret embedded in a longer hex run is still a leak.
      for (let i = 0; i + 32 <= run.length; i++) {
        const window = run.slice(i, i + 32);
        for (const ledger of ledgers) if (ledger.secretParts.has(window)) ledger.figures.secretsInLogs++;
      }
    }
  }
  return bytes;
}
