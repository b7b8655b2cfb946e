import type { Command } from 'commander';
import type { ContextOf } from '../command-context.js';
import { printable } from '../output.js';
import { addTargetOptions, targetOf } from '../target-options.js';
import { tokenLabel } from '../token-view.js';

export function registerDelete(program: Command, withGlobals: (c: Command) => Command, contextOf: ContextOf): void {
  addTargetOptions(withGlobals(program.command('delete')))
    .description('Delete a token from the store only; Zoho is not told (use revoke for that)')
    .addHelpText(
      'after',
      `
The refresh token stays valid at Zoho (and counts toward Zoho's 20 refresh tokens per user and
client) until revoked: prefer "zoho-tokens revoke" unless the token is already dead.

Examples:
  zoho-tokens delete 3
  zoho-tokens delete --user bob@example.com --client-id 1000.ABC…`,
    )
    .action(async (id: string | undefined, options: { user?: string; clientId?: string }, command: Command) => {
      const ctx = contextOf(command);
      const target = targetOf(id, options);
      const store = await ctx.openExistingStore();
      const token = await ctx.requireToken(store, target);
      await store.deleteToken(token.id!);
      if (token.refreshToken)
        ctx.out.note(`note: the refresh token of token ${printable(token.id!)} stays valid at Zoho until revoked`);
      ctx.out.result(
        () => `Deleted ${tokenLabel(token)} from the store.`,
        () => ({ id: token.id ?? null, user: token.userName, clientId: token.clientId ?? null, deleted: true }),
      );
    });
}
