import type { Command } from 'commander';
import { ErrorCode, ZohoTokenError } from '../../errors.js';
import type { ContextOf } from '../command-context.js';
import { describeTarget } from '../context.js';
import { addTargetOptions, targetOf } from '../target-options.js';
import { expiresIn, tokenLabel, tokenView } from '../token-view.js';

interface RefreshOptions {
  user?: string;
  clientId?: string;
  clientSecret?: string;
  ifNeeded?: boolean;
}

export function registerRefresh(program: Command, withGlobals: (c: Command) => Command, contextOf: ContextOf): void {
  addTargetOptions(withGlobals(program.command('refresh')))
    .description("Mint a new access token with the token's refresh token, at the token's own data center")
    .option('--client-secret <secret>', 'when the store has no client secret for the token (or ZOHO_CLIENT_SECRET)')
    .option('--if-needed', 'only when the access token is missing or expires within 5 minutes')
    .addHelpText(
      'after',
      `
Zoho allows 10 refreshes per refresh token in 10 minutes; --if-needed spares them. The refresh
goes through ZohoAuth: under the store's refresh lock, so it never races the services using it.
A refresh token Zoho rejected leaves the row with status "login required" (exit code 3).

Examples:
  zoho-tokens refresh 1
  zoho-tokens refresh --user alice@example.com --if-needed --json`,
    )
    .action(async (id: string | undefined, options: RefreshOptions, command: Command) => {
      const ctx = contextOf(command);
      const target = targetOf(id, options);
      const store = await ctx.openExistingStore();
      const stored = await ctx.findToken(store, target);
      if (stored === null) {
        throw new ZohoTokenError(
          ErrorCode.AUTH_REQUIRED,
          `no stored token for ${describeTarget(target)}: log in with "zoho-tokens login"`,
        );
      }
      const auth = ctx.authFor(store, stored, options);
      const ref = { id: stored.id! };
      const token = options.ifNeeded ? await auth.getToken(ref) : await auth.refresh(ref);
      ctx.out.addSecrets(token.accessToken, token.refreshToken);
      const refreshed = token.accessToken !== stored.accessToken;
      const now = Date.now();
      ctx.out.result(
        () =>
          refreshed
            ? `Refreshed ${tokenLabel(token)}: the access token expires in ${expiresIn(token, now)}.`
            : `Not refreshed: ${tokenLabel(token)} is still valid for ${expiresIn(token, now)} (--if-needed).`,
        () => ({ refreshed, token: tokenView(token, ctx.out, now) }),
      );
    });
}
