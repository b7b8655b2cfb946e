import type { Command } from 'commander';
import type { TokenStore } from '../../stores/kit/token-store.js';
import type { OAuthToken, OAuthTokenInit } from '../../token/oauth-token.js';
import { CliError, classifyError, usageError } from '../cli-error.js';
import type { ContextOf } from '../command-context.js';
import { printable, safeUrl } from '../output.js';
import { byId } from '../token-view.js';

interface MigrateOptions {
  from?: string;
  to: string;
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
    .addHelpText(
      'after',
      `
Reads every source token first, checks that no target row with the same id belongs to someone
else, then writes one token at a time (an upsert: a rerun changes nothing) and finally reads the
target back and verifies every token. On the first failure it stops, reports, and exits non-zero;
the source is never modified. With ZOHO_TOKEN_STORE_KEYS set both stores are opened encrypted
(plaintext source rows are read as they are and written encrypted).

Examples:
  zoho-tokens migrate --from sqlite:zohooauth.db --to postgres://app@db.internal/zoho
  zoho-tokens migrate --from sqlite:old.db --to sqlite:new.db --json`,
    )
    .action(async (options: MigrateOptions, command: Command) => {
      const ctx = contextOf(command);
      const from = options.from ?? ctx.storeUrl;
      if (from === options.to) throw usageError('--from and --to name the same store');
      const source = await ctx.openExistingStore(from);
      const tokens = (await source.getTokens()).sort(byId);
      for (const t of tokens) ctx.out.addSecrets(t.clientSecret, t.refreshToken, t.accessToken, t.grantToken);
      const target = await ctx.openStore(options.to);
      const existing = new Map((await target.getTokens()).map((t) => [t.id!, t] as const));
      for (const token of tokens) {
        const other = existing.get(token.id!);
        if (other && !sameOwner(token, other)) {
          throw new CliError(
            'MIGRATION_FAILED',
            `target token ${printable(token.id!)} belongs to another user or client; nothing was written`,
          );
        }
      }
      const report: MigrationReport = { read: tokens.length, created: 0, updated: 0, unchanged: 0, verified: 0 };
      for (const token of tokens) await copy(token, existing.get(token.id!), target, report);
      report.verified = await verify(tokens, target);
      ctx.out.result(
        () => [
          `Read ${report.read} token${report.read === 1 ? '' : 's'} from ${safeUrl(from)}.`,
          `Wrote ${report.created} new, ${report.updated} updated, ${report.unchanged} unchanged to ${safeUrl(options.to)}.`,
          `Verified ${report.verified}/${report.read} tokens in the target.`,
        ],
        () => ({ from: safeUrl(from), to: safeUrl(options.to), ...report }),
      );

      async function copy(
        token: OAuthToken,
        before: OAuthToken | undefined,
        store: TokenStore,
        counts: MigrationReport,
      ): Promise<void> {
        if (before && sameToken(token, before)) {
          counts.unchanged++;
          return;
        }
        try {
          // The copy keeps the id; null fields clear the target's, so the row ends up identical.
          await store.saveToken(token.with());
        } catch (error) {
          const done = counts.created + counts.updated + counts.unchanged;
          throw new CliError(
            'MIGRATION_FAILED',
            `writing token ${printable(token.id!)} failed after ${done} of ${counts.read} (${error instanceof Error ? error.message : String(error)}, ${classifyError(error).code}); the source is unchanged, fix the cause and rerun`,
            { exitCode: classifyError(error).exitCode, cause: error },
          );
        }
        if (before) counts.updated++;
        else counts.created++;
      }
    });
}

/** Reads the target back: every source token must be there, field for field. */
async function verify(tokens: readonly OAuthToken[], target: TokenStore): Promise<number> {
  const written = new Map((await target.getTokens()).map((t) => [t.id!, t] as const));
  const missing = tokens.filter((t) => {
    const copy = written.get(t.id!);
    return copy === undefined || !sameToken(t, copy);
  });
  if (missing.length > 0) {
    throw new CliError(
      'MIGRATION_FAILED',
      `verification failed: ${missing.length} token(s) differ in the target (ids ${missing.map((t) => printable(t.id!)).join(', ')})`,
    );
  }
  return tokens.length;
}
