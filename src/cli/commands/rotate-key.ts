import type { Command } from 'commander';
import { DEFAULT_KEYS_ENV } from '../../crypto/parse-keys.js';
import { EncryptedStore } from '../../stores/encrypted.js';
import { CliError, usageError } from '../cli-error.js';
import type { ContextOf } from '../command-context.js';
import { exitCodeForErrorCode } from '../exit-codes.js';
import { printable } from '../output.js';

export function registerRotateKey(program: Command, withGlobals: (c: Command) => Command, contextOf: ContextOf): void {
  withGlobals(program.command('rotate-key'))
    .description(`Re-encrypt every token under the current key (the first of ${DEFAULT_KEYS_ENV})`)
    .addHelpText(
      'after',
      `
Set ${DEFAULT_KEYS_ENV}="<newId>:<new key>,<oldId>:<old key>" (the first entry encrypts; the others
only decrypt), deploy it to every service, then run this. It also encrypts values stored in
plaintext. Idempotent: a rerun reports 0 re-encrypted. When it reports no failures, the old key can
be removed. Tokens it could not rewrite are listed and the exit code is 5 (or 4 for a busy lock).
See docs/encryption.md.

Examples:
  ${DEFAULT_KEYS_ENV}="k2:…,k1:…" zoho-tokens rotate-key --store sqlite:zohooauth.db`,
    )
    .action(async (_options: object, command: Command) => {
      const ctx = contextOf(command);
      if (!ctx.encryptionEnabled)
        throw usageError(`rotate-key needs the keys in ${DEFAULT_KEYS_ENV} ("<keyId>:<base64 key>,…", current first)`);
      const store = await ctx.openExistingStore();
      if (!(store instanceof EncryptedStore)) throw new Error('the store was not opened encrypted');
      const report = await store.rotateKeys();
      ctx.out.result(
        () => [
          `Key ${store.currentKeyId}: scanned ${report.scanned}, re-encrypted ${report.reencrypted} (${report.values} values), already current ${report.alreadyCurrent}, failed ${report.failed.length}.`,
          ...report.failed.map((f) => `  token ${printable(f.id)}: ${f.code}`),
        ],
        () => ({ currentKeyId: store.currentKeyId, ...report }),
      );
      const first = report.failed[0];
      if (first) {
        throw new CliError(
          'ROTATION_INCOMPLETE',
          `${report.failed.length} token(s) were not re-encrypted (first: token ${printable(first.id)}, ${first.code}); rerun after fixing`,
          {
            exitCode: exitCodeForErrorCode(first.code),
          },
        );
      }
    });
}
