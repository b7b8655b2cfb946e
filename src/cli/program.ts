import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { classifyError } from './cli-error.js';
import { colourEnabled } from './colour.js';
import type { ContextOf } from './command-context.js';
import { registerBind } from './commands/bind.js';
import { registerCompletion } from './commands/completion.js';
import { registerDelete } from './commands/delete.js';
import { registerDoctor } from './commands/doctor.js';
import { registerEmulator } from './commands/emulator.js';
import { registerList } from './commands/list.js';
import { registerLogin } from './commands/login.js';
import { registerMigrate } from './commands/migrate.js';
import { registerPurge } from './commands/purge.js';
import { registerRefresh } from './commands/refresh.js';
import { registerRevoke } from './commands/revoke.js';
import { registerRotateKey } from './commands/rotate-key.js';
import { registerShow } from './commands/show.js';
import { CliContext, DEFAULT_STORE_URL, type GlobalOptions } from './context.js';
import { DC_FORMS } from './data-center.js';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { Output, type CliIo } from './output.js';

const ENVIRONMENT_HELP = `Environment:
  ZOHO_TOKEN_STORE                  default --store
  ZOHO_DC                           default --dc
  ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET  client credentials for login (prefer them to flags: argv is visible to other users)
  ZOHO_TOKEN_STORE_KEYS             encryption keys ("<keyId>:<base64 key>,…"): when set, stores are opened encrypted`;

function version(): string {
  // dist/cli/ and src/cli/ are both two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

/** The global options; subcommands repeat them (hidden) so they work after the command name too. */
function globalOptions(io: CliIo, hidden: boolean): Option[] {
  const store = new Option(
    '--store <url>',
    'token store URL: sqlite:path.db, postgres://…, mysql://…, redis://…, file:path, memory:',
  );
  const dc = new Option('--dc <dc>', `data center for login (default: $ZOHO_DC, else US): ${DC_FORMS}`);
  if (!hidden)
    store.default(
      io.env['ZOHO_TOKEN_STORE'] || DEFAULT_STORE_URL,
      io.env['ZOHO_TOKEN_STORE'] ? '$ZOHO_TOKEN_STORE' : DEFAULT_STORE_URL,
    );
  const options = [
    store,
    dc,
    new Option('--json', 'machine-readable output: one JSON document on stdout'),
    new Option('--show-secrets', 'print tokens and client secrets in full (otherwise always redacted)'),
    new Option('--verbose', 'stack traces and causes on errors'),
  ];
  if (hidden) for (const option of options) option.hideHelp();
  return options;
}

export function buildProgram(io: CliIo, out: Output, onContext: (ctx: CliContext) => void): Command {
  const program = new Command('zoho-tokens')
    .description(
      'Manage Zoho OAuth tokens in a token store: log users in, list, refresh, revoke, bind, purge, migrate, rotate keys.',
    )
    .version(version(), '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      outputError: (text, write) => write(`${text.trimEnd()} (USAGE)\n`),
    })
    .addHelpText(
      'after',
      `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}\n\nRun "zoho-tokens <command> --help" for a command's options and examples.`,
    );
  for (const option of globalOptions(io, false)) program.addOption(option);

  const contexts = new WeakMap<Command, CliContext>();
  const contextOf: ContextOf = (command) => {
    const ctx = contexts.get(command);
    if (ctx === undefined) throw new Error(`no context for command ${command.name()}`);
    return ctx;
  };
  program.hook('preAction', (_root, action) => {
    // Later wins: the command's own (hidden) copies of the global options override the program's.
    const options = { ...program.opts(), ...action.opts() } as GlobalOptions;
    out.options = {
      json: options.json === true,
      showSecrets: options.showSecrets === true,
      verbose: options.verbose === true,
      colour: colourEnabled(io, options.json === true),
    };
    const ctx = new CliContext(io, out, options);
    contexts.set(action, ctx);
    onContext(ctx);
  });

  const withGlobals = (command: Command): Command => {
    for (const option of globalOptions(io, true)) command.addOption(option);
    return command.addHelpText(
      'after',
      '\nGlobal options (--store, --dc, --json, --show-secrets, --verbose) and exit codes: zoho-tokens --help',
    );
  };
  registerLogin(program, withGlobals, contextOf);
  registerList(program, withGlobals, contextOf);
  registerShow(program, withGlobals, contextOf);
  registerRefresh(program, withGlobals, contextOf);
  registerRevoke(program, withGlobals, contextOf);
  registerBind(program, withGlobals, contextOf);
  registerDelete(program, withGlobals, contextOf);
  registerPurge(program, withGlobals, contextOf);
  registerMigrate(program, withGlobals, contextOf);
  registerRotateKey(program, withGlobals, contextOf);
  registerDoctor(program, withGlobals, contextOf);
  registerEmulator(program, contextOf);
  registerCompletion(program, contextOf);
  return program;
}

/** Runs the CLI on `argv` (without node and script); resolves to the exit code, never throws. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const out = new Output(io);
  let ctx: CliContext | undefined;
  let code: number = ExitCode.OK;
  try {
    const program = buildProgram(io, out, (c) => (ctx = c));
    await program.parseAsync([...argv], { from: 'user' });
    code = ctx?.exitCode ?? ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed the message (or the help) already; exit code 0 means help or version was asked for.
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    out.error(error);
    code = classifyError(error).exitCode;
  } finally {
    try {
      await ctx?.close();
    } catch (error) {
      out.error(error);
      if (code === ExitCode.OK) code = classifyError(error).exitCode;
    }
  }
  return code;
}
