import { InvalidArgumentError, Option, type Command } from 'commander';
import type { OAuthToken } from '../../token/oauth-token.js';
import type { ContextOf } from '../command-context.js';
import { safeUrl } from '../output.js';
import {
  byId,
  inStatusGroup,
  listColumns,
  STATUS_GROUPS,
  tokenStatus,
  tokenView,
  type StatusGroup,
} from '../token-view.js';

interface ListOptions {
  user?: string;
  clientId?: string;
  /** `--client`, the spelling of the issue; `--client-id` is the one the other commands use. */
  client?: string;
  status?: StatusGroup;
  limit?: number;
}

function positiveInteger(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) throw new InvalidArgumentError('expected a positive integer');
  return Number(value);
}

/** The filters combine with AND; user names compare without case (Zoho logins are e-mail addresses). */
function matches(token: OAuthToken, options: ListOptions, now: number): boolean {
  const clientId = options.clientId ?? options.client;
  if (options.user !== undefined && token.userName?.toLowerCase() !== options.user.toLowerCase()) return false;
  if (clientId !== undefined && token.clientId !== clientId) return false;
  return options.status === undefined || inStatusGroup(tokenStatus(token, now), options.status);
}

export function registerList(program: Command, withGlobals: (c: Command) => Command, contextOf: ContextOf): void {
  withGlobals(program.command('list').alias('ls'))
    .description('List the stored tokens: id, user, client, data center, expiry, status')
    .option('--user <email>', 'only the tokens of this Zoho user (any case)')
    .option('--client-id <id>', 'only the tokens of this client')
    .addOption(new Option('--client <id>', 'the same as --client-id').hideHelp())
    .addOption(
      new Option(
        '--status <status>',
        'only valid (valid, expiring), expired (expired, no access token) or dead (login required) tokens',
      ).choices(Object.keys(STATUS_GROUPS)),
    )
    .option('--limit <n>', 'at most n tokens, the lowest ids first (after the filters)', positiveInteger)
    .addHelpText(
      'after',
      `
Status: valid | expiring (within 5 minutes) | expired / no access token (the refresh token mints one
on next use) | login required (no usable access token and no refresh token: Zoho rejected it, or
online access). On a terminal the status is coloured; NO_COLOR=1 turns that off.

Filters combine: a token is listed when it matches all of them; --limit applies last.

Examples:
  zoho-tokens list
  zoho-tokens list --status dead --json
  zoho-tokens list --user alice@example.com --client-id 1000.ABC… --limit 10
  zoho-tokens list --store postgres://app@db/zoho --json`,
    )
    .action(async (options: ListOptions, command: Command) => {
      const ctx = contextOf(command);
      const store = await ctx.openExistingStore();
      const now = Date.now();
      const filtered = (await store.getTokens()).filter((t) => matches(t, options, now)).sort(byId);
      const tokens = options.limit === undefined ? filtered : filtered.slice(0, options.limit);
      const filtering = ['user', 'clientId', 'client', 'status'].some(
        (name) => options[name as keyof ListOptions] !== undefined,
      );
      ctx.out.result(
        () => {
          if (tokens.length > 0) return ctx.out.table(listColumns(now), tokens);
          return filtering ? 'No token matches the filters.' : `No tokens in ${safeUrl(ctx.storeUrl)}.`;
        },
        () => ({ tokens: tokens.map((t) => tokenView(t, ctx.out, now)) }),
      );
    });
}
