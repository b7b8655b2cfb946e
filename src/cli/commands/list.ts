import type { Command } from 'commander';
import type { ContextOf } from '../command-context.js';
import { safeUrl } from '../output.js';
import { byId, listColumns, tokenView } from '../token-view.js';

export function registerList(program: Command, withGlobals: (c: Command) => Command, contextOf: ContextOf): void {
  withGlobals(program.command('list').alias('ls'))
    .description('List the stored tokens: id, user, client, data center, expiry, status')
    .addHelpText(
      'after',
      `
Status: valid | expiring (within 5 minutes) | expired / no access token (the refresh token mints one
on next use) | login required (no usable access token and no refresh token: Zoho rejected it, or
online access)

Examples:
  zoho-tokens list
  zoho-tokens list --store postgres://app@db/zoho --json`,
    )
    .action(async (_options: object, command: Command) => {
      const ctx = contextOf(command);
      const store = await ctx.openExistingStore();
      const tokens = (await store.getTokens()).sort(byId);
      const now = Date.now();
      ctx.out.result(
        () =>
          tokens.length === 0 ? `No tokens in ${safeUrl(ctx.storeUrl)}.` : ctx.out.table(listColumns(now), tokens),
        () => ({ tokens: tokens.map((t) => tokenView(t, ctx.out, now)) }),
      );
    });
}
