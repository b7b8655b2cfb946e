import type { Command } from 'commander';
import {
  DEFAULT_BATCH_SIZE,
  MAX_BATCH_SIZE,
  findTokensById,
  iterateTokensOf,
  saveTokensOf,
} from '../../stores/kit/store-paging.js';
import type { TokenStore } from '../../stores/kit/token-store.js';
import type { OAuthToken, OAuthTokenInit } from '../../token/oauth-token.js';
import { CliError, classifyError, usageError } from '../cli-error.js';
import type { ContextOf } from '../command-context.js';
import { printable, safeUrl } from '../output.js';
import { mapAsync, prefetch } from '../prefetch.js';
import { ProgressLine } from '../progress.js';

interface MigrateOptions {
  from?: string;
  to: string;
  batchSize: string;
}

/** A source page with the target's tokens under the same ids (null where none). */
interface TargetPage {
  page: OAuthToken[];
  existing: (OAuthToken | null)[];
}

/** Counts of one run; `--json` prints it as is. */
interface MigrationReport {
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  verified: number;
}

const FIELDS = [
  'id',
  'clientId',
  'clientSecret',
  'redirectUrl',
  'grantToken',
  'refreshToken',
  'accessToken',
  'expiresAt',
  'apiDomain',
  'accountsUrl',
] as const;

function sameToken(a: OAuthToken, b: OAuthToken): boolean {
  const x: OAuthTokenInit = a.toInit();
  const y: OAuthTokenInit = b.toInit();
  return a.userName === b.userName && FIELDS.every((f) => (x[f] ?? null) === (y[f] ?? null));
}

/** The target's row under the source's id must be the same user's token of the same client (or absent). */
function sameOwner(source: OAuthToken, target: OAuthToken): boolean {
  if (source.clientId !== target.clientId || source.userName !== target.userName) return false;
  return (
    source.userName !== null || source.refreshToken === target.refreshToken || source.grantToken === target.grantToken
  );
}

export function registerMigrate(program: Command, withGlobals: (c: Command) => Command, contextOf: ContextOf): void {
  withGlobals(program.command('migrate'))
    .description('Copy every token from one store to another, keeping ids; safe to rerun')
    .option('--from <url>', 'source store URL (default: --store)')
    .requiredOption('--to <url>', 'target store URL')
    .option('--batch-size <n>', `tokens per page and per write, 1 to ${MAX_BATCH_SIZE}`, String(DEFAULT_BATCH_SIZE))
    .addHelpText(
      'after',
      `
Streams the source page by page (never all of it in memory) in two passes. The first pass checks
that no target token with the same id belongs to another user or client: if one does, nothing is
written. The second copies each page with one batched write (one transaction or pipeline where the
target allows it), skipping tokens already there identically, and reads the page back to verify it.
On the first failure it stops, reports how far it got, and exits non-zero; the source is never
modified.

Interrupted (Ctrl-C, a crash, a lost connection)? Run the same command again: every copy keeps its
id and a save with an id updates that row, so tokens already copied are counted unchanged and the
rest are written, never twice. With stderr on a terminal, a progress line (count, rate, ETA) is
drawn there; nothing is added with --json or when stderr is not a terminal. With
ZOHO_TOKEN_STORE_KEYS set both stores are opened encrypted (plaintext source rows are read as they
are and written encrypted).

Examples:
  zoho-tokens migrate --from sqlite:zohooauth.db --to postgres://app@db.internal/zoho
  zoho-tokens migrate --from sqlite:old.db --to sqlite:new.db --json`,
    )
    .action(async (options: MigrateOptions, command: Command) => {
      const ctx = contextOf(command);
      const from = options.from ?? ctx.storeUrl;
      if (from === options.to) throw usageError('--from and --to name the same store');
      const batchSize = Number(options.batchSize);
      if (!/^[0-9]+$/.test(options.batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
        throw usageError(`--batch-size must be an integer of 1 to ${MAX_BATCH_SIZE}`);
      }
      const source = await ctx.openExistingStore(from);
      const target = await ctx.openStore(options.to);
      const pages = (): AsyncIterable<OAuthToken[]> => iterateTokensOf(source, { batchSize });
      const sink = ctx.io.stderrIsTty === true && !ctx.out.options.json ? ctx.io.stderr : null;

      // Pass 1: every id the target already holds must be the same user's token of the same client.
      let total = 0;
      for await (const { page, existing } of prefetch(withTargetRows(pages()))) {
        page.forEach((token, i) => {
          const other = existing[i];
          if (other && !sameOwner(token, other)) {
            throw new CliError(
              'MIGRATION_FAILED',
              `target token ${printable(token.id!)} belongs to another user or client; nothing was written`,
            );
          }
        });
        total += page.length;
      }

      // Pass 2: copy page by page, each page one batched write, then read back.
      const report: MigrationReport = { read: 0, created: 0, updated: 0, unchanged: 0, verified: 0 };
      const progress = new ProgressLine(sink, 'Copied', total);
      progress.update(0);
      try {
        // The next page is read and looked up while this one is written: a page's write touches
        // only its own ids, so the next page's target rows are the same before and after it.
        for await (const { page, existing } of prefetch(withTargetRows(pages()))) {
          await copyPage(page, existing, target, report);
          report.read += page.length;
          progress.update(report.read);
        }
      } finally {
        progress.clear();
      }
      ctx.out.result(
        () => [
          `Read ${report.read} token${report.read === 1 ? '' : 's'} from ${safeUrl(from)}.`,
          `Wrote ${report.created} new, ${report.updated} updated, ${report.unchanged} unchanged to ${safeUrl(options.to)}.`,
          `Verified ${report.verified}/${report.read} tokens in the target.`,
        ],
        () => ({ from: safeUrl(from), to: safeUrl(options.to), ...report }),
      );

      function withTargetRows(source: AsyncIterable<OAuthToken[]>): AsyncIterable<TargetPage> {
        return mapAsync(source, async (page) => ({ page, existing: await findTokensById(target, ids(page)) }));
      }

      async function copyPage(
        page: OAuthToken[],
        before: (OAuthToken | null)[],
        store: TokenStore,
        counts: MigrationReport,
      ): Promise<void> {
        const changed: OAuthToken[] = [];
        let created = 0;
        page.forEach((token, i) => {
          const other = before[i];
          if (other && !sameOwner(token, other)) {
            // Written by someone else since the check pass.
            throw new CliError(
              'MIGRATION_FAILED',
              `target token ${printable(token.id!)} belongs to another user or client (changed during the migration); ${done(counts)} of ${total} were copied`,
            );
          }
          if (other && sameToken(token, other)) return;
          if (!other) created++;
          changed.push(token);
        });
        // The copies keep their ids; null fields clear the target's, so each row ends up identical.
        const copies = changed.map((token) => token.with());
        try {
          await saveTokensOf(store, copies);
        } catch {
          // Which token failed, and after how many? Token by token (upserts: a token the batch
          // wrote already is written again identically).
          for (const [i, copy] of copies.entries()) {
            try {
              await store.saveToken(copy.with());
            } catch (error) {
              // Only this page's secrets are remembered (memory stays flat): enough for this message.
              for (const t of page) ctx.out.addSecrets(t.clientSecret, t.refreshToken, t.accessToken, t.grantToken);
              const { code, exitCode } = classifyError(error);
              throw new CliError(
                'MIGRATION_FAILED',
                `writing token ${printable(copy.id!)} failed after ${done(counts) + i} of ${total} (${error instanceof Error ? error.message : String(error)}, ${code}); the source is unchanged, fix the cause and rerun`,
                { exitCode, cause: error },
              );
            }
          }
        }
        counts.created += created;
        counts.updated += changed.length - created;
        counts.unchanged += page.length - changed.length;
        counts.verified += page.length - changed.length;
        counts.verified += await verify(changed, store);
      }
    });
}

function ids(page: readonly OAuthToken[]): string[] {
  return page.map((token) => token.id!);
}

function done(counts: MigrationReport): number {
  return counts.created + counts.updated + counts.unchanged;
}

/** Reads the written tokens back: every one must be there, field for field. */
async function verify(tokens: readonly OAuthToken[], target: TokenStore): Promise<number> {
  if (tokens.length === 0) return 0;
  const written = await findTokensById(target, ids(tokens));
  const missing = tokens.filter((t, i) => {
    const copy = written[i];
    return !copy || !sameToken(t, copy);
  });
  if (missing.length > 0) {
    throw new CliError(
      'MIGRATION_FAILED',
      `verification failed: ${missing.length} token(s) differ in the target (ids ${missing.map((t) => printable(t.id!)).join(', ')})`,
    );
  }
  return tokens.length;
}
