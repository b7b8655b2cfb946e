import type { Command } from 'commander';
import type { ContextOf } from '../command-context.js';
import { addTargetOptions, targetOf } from '../target-options.js';
import { tokenLines, tokenView } from '../token-view.js';

export function registerShow(program: Command, withGlobals: (c: Command) => Command, contextOf: ContextOf): void {
  addTargetOptions(withGlobals(program.command('show')))
    .description("Show one token's fields; secrets are redacted unless --show-secrets")
    .addHelpText(
      'after',
      `
Examples:
  zoho-tokens show 1
  zoho-tokens show --user alice@example.com --json
  zoho-tokens show 1 --show-secrets        # prints the refresh token: handle with care`,
    )
    .action(async (id: string | undefined, options: { user?: string; clientId?: string }, command: Command) => {
      const ctx = contextOf(command);
      const target = targetOf(id, options);
      const store = await ctx.openExistingStore();
      const token = await ctx.requireToken(store, target);
      const now = Date.now();
      ctx.out.result(
        () => tokenLines(token, ctx.out, now),
        () => ({ token: tokenView(token, ctx.out, now) }),
      );
    });
}
