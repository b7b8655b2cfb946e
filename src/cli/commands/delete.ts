import type { Command } from 'commander';
import type { ContextOf } from '../command-context.js';
import { addConfirmOptions, confirm, requireConsent, type ConfirmOptions } from '../confirm.js';
import { printable } from '../output.js';
import { addTargetOptions, targetOf } from '../target-options.js';
import { tokenLabel } from '../token-view.js';

export function registerDelete(program: Command, withGlobals: (c: Command) => Command, contextOf: ContextOf): void {
  addConfirmOptions(
    addTargetOptions(withGlobals(program.command('delete'))),
    'show which token would be deleted, delete nothing',
  )
    .description('Delete a token from the store only; Zoho is not told (use revoke for that)')
    .addHelpText(
      'after',
      `
The refresh token stays valid at Zoho (and counts toward Zoho's 20 refresh tokens per user and
client) until revoked: prefer "zoho-tokens revoke" unless the token is already dead. On a terminal
it asks before deleting; elsewhere it needs --yes.

Examples:
  zoho-tokens delete 3
  zoho-tokens delete 3 --yes
  zoho-tokens delete --user bob@example.com --client-id 1000.ABC…`,
    )
    .action(
      async (
        id: string | undefined,
        options: { user?: string; clientId?: string } & ConfirmOptions,
        command: Command,
      ) => {
        const ctx = contextOf(command);
        const target = targetOf(id, options);
        requireConsent(ctx, 'delete', options);
        const store = await ctx.openExistingStore();
        const token = await ctx.requireToken(store, target);
        const dryRun = options.dryRun === true;
        if (!dryRun) {
          await confirm(ctx, options, [`Delete ${tokenLabel(token)} from the store (Zoho is not told)?`]);
          await store.deleteToken(token.id!);
          if (token.refreshToken)
            ctx.out.note(`note: the refresh token of token ${printable(token.id!)} stays valid at Zoho until revoked`);
        }
        ctx.out.result(
          () =>
            dryRun
              ? `Would delete ${tokenLabel(token)} from the store (dry run, nothing deleted).`
              : `Deleted ${tokenLabel(token)} from the store.`,
          () => ({
            id: token.id ?? null,
            user: token.userName,
            clientId: token.clientId ?? null,
            dryRun,
            deleted: !dryRun,
          }),
        );
      },
    );
}
