import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import type { ContextOf } from '../command-context.js';
import { addConfirmOptions, confirm, requireConsent, type ConfirmOptions } from '../confirm.js';
import { printable } from '../output.js';
import { addTargetOptions, targetOf } from '../target-options.js';
import { tokenLabel } from '../token-view.js';

interface RevokeOptions extends ConfirmOptions {
  user?: string;
  clientId?: string;
  clientSecret?: string;
}

export function registerRevoke(program: Command, withGlobals: (c: Command) => Command, contextOf: ContextOf): void {
  addConfirmOptions(
    addTargetOptions(withGlobals(program.command('revoke'))),
    'show which token would be revoked (and check a client secret is at hand), change nothing',
  )
    .description("Revoke a token's refresh token at Zoho (its own data center), then delete it from the store")
    .option('--client-secret <secret>', 'when the store has no client secret for the token (or ZOHO_CLIENT_SECRET)')
    .addHelpText(
      'after',
      `
Revoking the refresh token also kills every access token minted from it. A token Zoho no longer
knows is deleted too; if Zoho cannot be reached the token stays stored (exit code 4): rerun. On a
terminal it asks first; elsewhere it needs --yes.

Examples:
  zoho-tokens revoke 1
  zoho-tokens revoke 1 --dry-run
  zoho-tokens revoke 1 --yes
  zoho-tokens revoke --user alice@example.com`,
    )
    .action(async (id: string | undefined, options: RevokeOptions, command: Command) => {
      const ctx = contextOf(command);
      const target = targetOf(id, options);
      requireConsent(ctx, 'revoke', options);
      const store = await ctx.openExistingStore();
      const token = await ctx.requireToken(store, target);
      let revokedAtZoho = false;
      // Built before asking, so a missing client secret fails the dry run too; nothing is sent yet.
      const auth = ctx.authFor(store, token, {
        clientSecret: options.clientSecret,
        hooks: { onTokenRevoked: (event) => void (revokedAtZoho = event.revokedAtZoho) },
      });
      if (options.dryRun === true) {
        ctx.out.result(
          () => `Would revoke ${tokenLabel(token)} at Zoho and delete it from the store (dry run, nothing changed).`,
          () => ({
            id: token.id ?? null,
            user: token.userName,
            clientId: token.clientId ?? null,
            dryRun: true,
            revokedAtZoho: false,
            deleted: false,
          }),
        );
        return;
      }
      await confirm(ctx, options, [`Revoke ${tokenLabel(token)} at Zoho and delete it from the store?`]);
      if (!(await auth.revoke({ id: token.id! })))
        throw new CliError('NOT_FOUND', `token ${printable(token.id!)} was removed meanwhile`);
      ctx.out.result(
        () =>
          revokedAtZoho
            ? `Revoked ${tokenLabel(token)} at Zoho and deleted it from the store.`
            : `Zoho no longer knew the refresh token of ${tokenLabel(token)}; deleted it from the store.`,
        () => ({
          id: token.id ?? null,
          user: token.userName,
          clientId: token.clientId ?? null,
          dryRun: false,
          revokedAtZoho,
          deleted: true,
        }),
      );
    });
}
