import type { Command } from 'commander';
import { bindingOf } from '../../auth/data-center-binding.js';
import { OAuthToken } from '../../token/oauth-token.js';
import { usageError } from '../cli-error.js';
import type { ContextOf } from '../command-context.js';
import { addTargetOptions, targetOf } from '../target-options.js';
import { tokenLabel } from '../token-view.js';

export function registerBind(program: Command, withGlobals: (c: Command) => Command, contextOf: ContextOf): void {
  addTargetOptions(withGlobals(program.command('bind')))
    .description('Bind a token to its data center (--dc): store its accounts server and API domain; Zoho is not called')
    .addHelpText(
      'after',
      `
Rows written by the official SDKs name no data center (no accounts_url, no api_domain). Such a row
is refreshed at the configured data center and, if Zoho rejects it there, its refresh token is KEPT
(error TOKEN_UNBOUND, exit code 3): it may be valid at another one. Binding says where it belongs;
from then on a rejection there clears it as dead. --dc (or $ZOHO_DC) is required here, and a row
already bound to another data center is refused (delete it and log the user in again instead).

Examples:
  zoho-tokens bind 1 --dc EU
  zoho-tokens bind --user alice@example.com --dc IN:sandbox`,
    )
    .action(async (id: string | undefined, options: { user?: string; clientId?: string }, command: Command) => {
      const ctx = contextOf(command);
      // Binding to a guess would defeat its purpose: no default data center here.
      if (ctx.options.dc === undefined && !ctx.io.env['ZOHO_DC'])
        throw usageError('bind needs --dc <dc> (or $ZOHO_DC): the data center the token was issued in');
      const env = ctx.environment();
      const store = await ctx.openExistingStore();
      const token = await ctx.requireToken(store, targetOf(id, options));
      const binding = bindingOf({ primary: env, extra: [] }, token, env);
      await store.saveToken(new OAuthToken({ id: token.id!, ...binding }));
      ctx.out.result(
        () =>
          `Bound ${tokenLabel(token)} to ${env.name}: accounts server ${binding.accountsUrl}, API domain ${binding.apiDomain}.`,
        () => ({
          id: token.id ?? null,
          user: token.userName,
          clientId: token.clientId ?? null,
          environment: env.name,
          ...binding,
        }),
      );
    });
}
