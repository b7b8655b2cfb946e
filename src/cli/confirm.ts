import type { Command } from 'commander';
import { CliError, usageError } from './cli-error.js';
import type { CliContext } from './context.js';

/** The options every destructive command takes. */
export interface ConfirmOptions {
  yes?: boolean;
  dryRun?: boolean;
}

/** Adds `--yes` and `--dry-run` (unless the command has its own `--dry-run` text). */
export function addConfirmOptions(command: Command, dryRun: string): Command {
  return command
    .option('-y, --yes', 'do it without asking (required when stdin or stderr is not a terminal)')
    .option('--dry-run', dryRun);
}

/**
 * Checked before the store is opened: without a terminal to ask on, a destructive command needs
 * `--yes` (a script must say it means it); a dry run changes nothing, so it needs none.
 */
export function requireConsent(ctx: CliContext, commandName: string, options: ConfirmOptions): void {
  if (options.yes === true || options.dryRun === true || ctx.interactive) return;
  throw usageError(
    `${commandName} changes the store and there is no terminal to confirm on: pass --yes (or --dry-run to see what it would do)`,
  );
}

/**
 * Shows what is about to happen (on stderr: stdout stays the command's result) and asks `[y/N]`;
 * anything but y/yes cancels with exit code 7. `--yes` skips the question.
 */
export async function confirm(ctx: CliContext, options: ConfirmOptions, summary: readonly string[]): Promise<void> {
  if (options.yes === true) return;
  const prompt = ctx.io.prompt;
  // requireConsent ran first; this only guards a caller that forgot it.
  if (!ctx.interactive || prompt === undefined) throw usageError('no terminal to confirm on: pass --yes');
  for (const line of summary) ctx.out.note(line);
  const answer = (await prompt('Proceed? [y/N] ')).trim().toLowerCase();
  if (answer !== 'y' && answer !== 'yes') throw new CliError('CANCELLED', 'cancelled: nothing was changed');
}
