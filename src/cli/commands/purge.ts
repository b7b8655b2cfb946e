import type { Command } from 'commander';
import { iterateTokensOf } from '../../stores/kit/store-paging.js';
import type { OAuthToken } from '../../token/oauth-token.js';
import { usageError } from '../cli-error.js';
import type { ContextOf } from '../command-context.js';
import { addConfirmOptions, confirm, requireConsent, type ConfirmOptions } from '../confirm.js';
import { humanizeDuration, parseDuration } from '../duration.js';
import { byId, listColumns, tokenStatus, tokenView } from '../token-view.js';

const DELETES_IN_FLIGHT = 16;

interface PurgeOptions extends ConfirmOptions {
  expiredFor?: number;
  dead?: boolean;
}

/** Which tokens a purge removes; a token with no expiry is never "expired for" any duration. */
export function purgeable(token: OAuthToken, now: number, options: PurgeOptions): boolean {
  if (options.expiredFor !== undefined && token.expiresAt != null && now - token.expiresAt > options.expiredFor)
    return true;
  return options.dead === true && tokenStatus(token, now) === 'login required';
}

export function registerPurge(program: Command, withGlobals: (c: Command) => Command, contextOf: ContextOf): void {
  addConfirmOptions(withGlobals(program.command('purge')), 'list what would be deleted, delete nothing')
    .description('Delete stale tokens from the store (local only, like delete): a clean-up policy')
    .option(
      '--expired-for <duration>',
      'tokens whose access token expired more than this long ago (90m, 12h, 30d, 2w, 1h30m)',
      parseDuration,
    )
    .option(
      '--dead',
      'also tokens that can never be used again (status "login required": no refresh token, no valid access token)',
    )
    .addHelpText(
      'after',
      `
Stores do not record when a token was last used. A token used through ZohoAuth is refreshed on use,
so "access token expired more than 30d ago" means "nobody used it for 30 days". Tokens without an
expiry are kept unless --dead selects them. Purge does not revoke at Zoho: revoke live tokens first
if they must stop working. On a terminal it lists the tokens and asks first; elsewhere it needs --yes.

Examples:
  zoho-tokens purge --expired-for 30d --dry-run
  zoho-tokens purge --expired-for 30d --dead
  zoho-tokens purge --dead --yes               # from cron or CI`,
    )
    .action(async (options: PurgeOptions, command: Command) => {
      const ctx = contextOf(command);
      if (options.expiredFor === undefined && !options.dead)
        throw usageError('purge needs --expired-for <duration> and/or --dead');
      requireConsent(ctx, 'purge', options);
      const store = await ctx.openExistingStore();
      const now = Date.now();
      // Page by page: only the selected tokens stay in memory (they are listed and confirmed).
      const selected: OAuthToken[] = [];
      for await (const page of iterateTokensOf(store)) {
        for (const token of page) if (purgeable(token, now, options)) selected.push(token);
      }
      selected.sort(byId);
      const policy = [
        options.expiredFor === undefined ? null : `expired more than ${humanizeDuration(options.expiredFor)} ago`,
        options.dead ? 'dead' : null,
      ]
        .filter((s) => s !== null)
        .join(' or ');
      const what = `${selected.length} token${selected.length === 1 ? '' : 's'} ${policy}`;
      if (!options.dryRun && selected.length > 0) {
        // The plain table (no colour, no secrets): it goes to stderr with the question.
        await confirm(ctx, options, [
          `Delete ${what} from the store (Zoho is not told)?`,
          ...ctx.out.plainTable(listColumns(now), selected),
        ]);
        // A few deletes in flight: a round trip each on a server store, not one after another.
        for (let i = 0; i < selected.length; i += DELETES_IN_FLIGHT)
          await Promise.all(selected.slice(i, i + DELETES_IN_FLIGHT).map((token) => store.deleteToken(token.id!)));
      }
      ctx.out.result(
        () => {
          if (selected.length === 0) return `No token matches (${policy}).`;
          const head = options.dryRun ? `Would delete ${what} (dry run, nothing deleted):` : `Deleted ${what}:`;
          return [head, ...ctx.out.table(listColumns(now), selected)];
        },
        () => ({
          dryRun: options.dryRun === true,
          expiredForMs: options.expiredFor ?? null,
          dead: options.dead === true,
          deleted: options.dryRun ? 0 : selected.length,
          tokens: selected.map((t) => tokenView(t, ctx.out, now)),
        }),
      );
    });
}
