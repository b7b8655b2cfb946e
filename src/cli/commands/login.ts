import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import { ZohoAuth } from '../../auth/zoho-auth.js';
import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../../errors.js';
import { parseAuthorizationCallback, type AuthorizationCallback } from '../../oauth/authorization-url.js';
import type { Environment } from '../../oauth/environment.js';
import type { OAuthToken } from '../../token/oauth-token.js';
import { CallbackServer, type Callback } from '../callback-server.js';
import { CliError, usageError } from '../cli-error.js';
import type { ContextOf } from '../command-context.js';
import type { CliContext } from '../context.js';
import { humanizeDuration, parseDuration } from '../duration.js';
import { openBrowser } from '../open-browser.js';
import { printable, safeUrl } from '../output.js';
import { expiresIn, tokenView } from '../token-view.js';

export const DEFAULT_SCOPES = ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ', 'ZohoCRM.org.READ'];
export const DEFAULT_PORT = 8765;

interface LoginOptions {
  code?: string;
  web?: boolean;
  user?: string;
  clientId?: string;
  clientSecret?: string;
  scope?: string[];
  redirectUri?: string;
  port?: number;
  open?: boolean;
  timeout: number;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('Expected a port number (0-65535).');
  return port;
}

function collectScopes(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(/[\s,]+/).filter((s) => s.length > 0)];
}

export function registerLogin(program: Command, withGlobals: (c: Command) => Command, contextOf: ContextOf): void {
  withGlobals(program.command('login'))
    .description(
      'Exchange a grant code for tokens and store them under the user (Self Client code, or the browser flow with --web)',
    )
    .option('--code <grant>', 'a Self Client grant code from the API console (prompted for on a terminal when omitted)')
    .option('--web', 'browser flow: serve the redirect on 127.0.0.1 and print the authorization URL')
    .option(
      '--user <email>',
      "store the token under this user (default: asked from the CRM's users?type=CurrentUser when the scope allows)",
    )
    .option('--client-id <id>', 'client id (default: $ZOHO_CLIENT_ID)')
    .option(
      '--client-secret <secret>',
      'client secret (default: $ZOHO_CLIENT_SECRET, preferred: argv is visible to other users)',
    )
    .option(
      '--scope <scopes>',
      `with --web: scopes, comma-separated or repeated (default: ${DEFAULT_SCOPES.join(',')})`,
      collectScopes,
    )
    .option(
      '--redirect-uri <url>',
      `redirect URI registered for the client (with --web default: http://127.0.0.1:<port>/callback)`,
    )
    .option(
      '--port <port>',
      `with --web: port of the callback server (default: ${DEFAULT_PORT}; 0 = any free port)`,
      parsePort,
    )
    .option('--open', 'with --web: also try to open the URL in a browser')
    .option('--timeout <duration>', 'with --web: how long to wait for the redirect', parseDuration, 300_000)
    .addHelpText(
      'after',
      `
Self Client: create a code in the API console (Self Client > Generate Code) with the scopes you
need (add ZohoCRM.users.READ so the user is learned), then run login --code within its lifetime.
Web flow: register http://127.0.0.1:${DEFAULT_PORT}/callback as a redirect URI of the client. The
URL asks for access_type=offline and prompt=consent (so Zoho issues a refresh token) and carries a
random state; a redirect with another state is refused. The code is exchanged at the data center
the redirect names (accounts-server / location).

Examples:
  export ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=…
  zoho-tokens login --code 1000.abc….def… --user alice@example.com
  zoho-tokens --dc EU login --web --open
  zoho-tokens --dc custom:http://127.0.0.1:8080 login --web --port 8765   # against "zoho-tokens emulator"`,
    )
    .action(async (options: LoginOptions, command: Command) => {
      const ctx = contextOf(command);
      checkOptions(options);
      const env = ctx.environment();
      const credentials = ctx.clientCredentials(options);
      let token: OAuthToken;
      if (options.web) {
        token = await webLogin(ctx, env, credentials, options);
      } else {
        const code = options.code ?? (await promptForCode(ctx));
        ctx.out.addSecrets(code);
        const store = await ctx.openStore();
        const auth = new ZohoAuth({
          store,
          environment: env,
          ...credentials,
          ...(options.redirectUri ? { redirectUrl: options.redirectUri } : {}),
        });
        // Self Client codes are exchanged without a redirect URI; a web-flow code needs its own.
        token = await auth.exchangeGrantToken(code, {
          ...(options.user ? { user: options.user } : {}),
          redirectUrl: options.redirectUri ?? null,
        });
      }
      report(ctx, token);
    });
}

function checkOptions(options: LoginOptions): void {
  if (options.web && options.code !== undefined)
    throw usageError('use either --code (Self Client) or --web (browser flow), not both');
  if (!options.web) {
    const webOnly = (['scope', 'port', 'open'] as const).filter((k) => options[k] !== undefined);
    if (webOnly.length > 0)
      throw usageError(
        `--${webOnly[0]} only applies to --web (Self Client scopes are chosen when the code is generated)`,
      );
  }
}

async function promptForCode(ctx: CliContext): Promise<string> {
  if (!ctx.io.prompt) throw usageError('no grant code: pass --code <grant> (Self Client) or --web (browser flow)');
  const code = (await ctx.io.prompt('Grant code (API console > Self Client > Generate Code): ')).trim();
  if (code === '') throw usageError('no grant code entered');
  return code;
}

/** The browser flow: callback server, authorization URL, state check, exchange at the callback's data center. */
async function webLogin(
  ctx: CliContext,
  env: Environment,
  credentials: { clientId: string; clientSecret: string },
  options: LoginOptions,
): Promise<OAuthToken> {
  const { out } = ctx;
  const state = randomBytes(32).toString('base64url');
  const store = await ctx.openStore();
  let finish!: { resolve: (token: OAuthToken) => void; reject: (error: unknown) => void };
  const finished = new Promise<OAuthToken>((resolve, reject) => (finish = { resolve, reject }));
  let handled = false;
  let auth: ZohoAuth | undefined;

  const onCallback = (cb: Callback): void => {
    if (handled || auth === undefined) {
      cb.respond(
        409,
        'Login already handled',
        'This login has already received its redirect; you can close this window.',
      );
      return;
    }
    let callback: AuthorizationCallback;
    try {
      // Even an error redirect must carry this login's state: any web page can reach a loopback URL.
      if (new URL(cb.url, 'http://127.0.0.1').searchParams.get('state') !== state) {
        throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'state mismatch', { field: 'state' });
      }
      callback = parseAuthorizationCallback(cb.url, state);
    } catch (error) {
      if (isZohoTokenError(error, ErrorCode.INVALID_ARGUMENT) && error.field === 'state') {
        // Not this login's redirect (CSRF, a stale tab): refuse it and keep waiting for the real one.
        out.note('warning: refused a redirect whose state does not match this login; still waiting');
        cb.respond(400, 'Login refused', 'This redirect does not belong to the login in progress (state mismatch).');
        return;
      }
      handled = true;
      cb.respond(400, 'Login failed', error instanceof Error ? error.message : String(error));
      finish.reject(error);
      return;
    }
    handled = true;
    out.addSecrets(callback.code);
    exchange(auth, env, callback, options.user).then(
      (token) => {
        cb.respond(
          200,
          'Logged in',
          `Logged in${token.userName ? ` as ${token.userName}` : ''}. You can close this window.`,
        );
        finish.resolve(token);
      },
      (error: unknown) => {
        cb.respond(502, 'Login failed', error instanceof Error ? error.message : String(error));
        finish.reject(error);
      },
    );
  };

  const server = await CallbackServer.start(
    { redirectUri: options.redirectUri, port: options.redirectUri ? options.port : (options.port ?? DEFAULT_PORT) },
    onCallback,
  );
  const timer = setTimeout(
    () =>
      finish.reject(
        new CliError('TIMEOUT', `no redirect arrived within ${humanizeDuration(options.timeout)}: run login again`),
      ),
    options.timeout,
  );
  try {
    auth = new ZohoAuth({ store, environment: env, ...credentials, redirectUrl: server.redirectUrl.href });
    const url = auth.authorizationUrl({ scopes: options.scope ?? DEFAULT_SCOPES, state }).href;
    const say = (text: string): void => (out.options.json ? out.note(text) : out.line(text));
    say('Open this URL in a browser and allow access:');
    say('');
    say(`  ${url}`);
    say('');
    say(
      `Waiting for the redirect to ${server.redirectUrl.href} (up to ${humanizeDuration(options.timeout)}; Ctrl+C to cancel)…`,
    );
    if (options.open) openBrowser(url);
    return await finished;
  } finally {
    clearTimeout(timer);
    await server.close();
  }
}

function exchange(
  auth: ZohoAuth,
  env: Environment,
  callback: AuthorizationCallback,
  user: string | undefined,
): Promise<OAuthToken> {
  // The redirect names the accounts server to exchange at. When it is the configured one, its
  // `location` adds nothing (and a custom environment, e.g. the emulator, has no Zoho location).
  const configured = callback.accountsServer !== null && sameUrl(callback.accountsServer, env.accountsUrl);
  return auth.exchangeGrantToken(callback.code, {
    ...(user ? { user } : {}),
    location: configured ? null : callback.location,
    accountsServer: callback.accountsServer,
  });
}

const sameUrl = (a: string, b: string): boolean =>
  a.replace(/\/+$/, '').toLowerCase() === b.replace(/\/+$/, '').toLowerCase();

function report(ctx: CliContext, token: OAuthToken): void {
  const now = Date.now();
  ctx.out.addSecrets(token.accessToken, token.refreshToken, token.grantToken);
  if (!token.refreshToken)
    ctx.out.note(
      'warning: Zoho issued no refresh token (access_type=offline missing?): the user must log in again within the hour',
    );
  if (!token.userName) {
    ctx.out.note(
      `warning: the token was stored without a user (no --user, and the CRM did not say who it is: add the ZohoCRM.users.READ scope); refer to it by id ${printable(token.id ?? '?')}`,
    );
  }
  ctx.out.result(
    () =>
      `Logged in ${token.userName ? printable(token.userName) : '(unknown user)'}: stored as token ${printable(token.id ?? '?')} in ${safeUrl(ctx.storeUrl)}; the access token expires in ${expiresIn(token, now)}.`,
    () => ({ token: tokenView(token, ctx.out, now) }),
  );
}
