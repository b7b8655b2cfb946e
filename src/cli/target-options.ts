import type { Command } from 'commander';
import { checkTarget, type TokenTarget } from './context.js';

/** `[id]`, `--user <email>`, `--client-id <id>`: how show, refresh, revoke and delete name a token. */
export function addTargetOptions(command: Command): Command {
  return command
    .argument('[id]', 'the token id (see "zoho-tokens list")')
    .option('--user <email>', 'the token of this Zoho user instead of an id')
    .option('--client-id <id>', 'with --user: the client, when the user has tokens of several clients');
}

/** The target named on the command line; checked here, so a usage error comes before the store is opened. */
export function targetOf(id: string | undefined, options: { user?: string; clientId?: string }): TokenTarget {
  const target = { id, user: options.user, clientId: options.clientId };
  checkTarget(target);
  return target;
}
