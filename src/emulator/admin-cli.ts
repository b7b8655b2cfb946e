import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Subcommands of `zoho-tokens emulator` that call a running emulator's admin API. */
export const ADMIN_COMMANDS = [
  'code',
  'approve',
  'deny',
  'consents',
  'clock',
  'fault',
  'stats',
  'client',
  'user',
  'tokens',
];

/** The admin subcommands' help, appended to the server's help. */
export const ADMIN_HELP = (usage: string): string => `Commands that drive a running emulator through its admin API:
  ${usage} code --user EMAIL --scopes S [--client-id ID] [--dc DC] [--access-type online] [--expires-in 3m]
                                  mint a Self Client grant code (prints the code)
  ${usage} consents               list consent pages shown and not yet answered
  ${usage} approve --user EMAIL [--id ID | --auth-url URL]
                                  approve a pending consent (prints the redirect URL)
  ${usage} deny [--id ID | --auth-url URL]
  ${usage} clock [advance DURATION | set TIME]
                                  show or move the emulator's clock (e.g. advance 3600s, set 2030-01-01T00:00:00Z)
  ${usage} fault add --kind K [--target T] [--times N] [--status S] [--ms MS] [--dc DC]
  ${usage} fault list | fault clear [--target T] | fault remove ID
  ${usage} stats [reset]          read or reset the counters
  ${usage} client add [--client-id ID] [--client-secret S] [--redirect-uri URL]... [--dc DC]... | client list
  ${usage} user add EMAIL [--dc DC]... | user list
  ${usage} tokens                 live tokens (ids, users, expiry; never the token values)
  Common: --url URL (default $ZOHO_EMULATOR_URL), --admin-token T (default $ZOHO_EMULATOR_ADMIN_TOKEN), --json`;

type Values = Record<string, string | boolean | string[] | undefined>;

const COMMON: NonNullable<ParseArgsConfig['options']> = {
  url: { type: 'string' },
  'admin-token': { type: 'string' },
  json: { type: 'boolean' },
};

/** Failure the user can fix (bad flags): exit 2. */
class UsageError extends Error {}

/**
 * Runs one admin subcommand (`args[0]` is its name); resolves to the exit code: 0 done, 1 the
 * emulator refused or could not be reached, 2 bad usage. Output goes to stdout, errors to stderr.
 */
export async function runAdminCommand(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  usage = 'zoho-tokens emulator',
): Promise<number> {
  const [command, ...rest] = args;
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(ADMIN_HELP(usage));
    return 0;
  }
  try {
    const call = plan(command!, rest);
    const url = (call.values['url'] as string | undefined) ?? env['ZOHO_EMULATOR_URL'];
    if (url === undefined || !URL.canParse(url))
      throw new UsageError(
        '--url (or $ZOHO_EMULATOR_URL) must be the emulator URL it printed, e.g. http://127.0.0.1:8080',
      );
    const token = (call.values['admin-token'] as string | undefined) ?? env['ZOHO_EMULATOR_ADMIN_TOKEN'];
    const answer = await request(url, token, call.method, call.path, call.body);
    if (answer.status >= 400) {
      const body = answer.body as { message?: string; field?: string; error?: string } | undefined;
      const field = body?.field === undefined ? '' : ` (${body.field})`;
      console.error(`error: ${body?.message ?? body?.error ?? `HTTP ${answer.status}`}${field}`);
      return 1;
    }
    console.log(call.values['json'] === true ? JSON.stringify(answer.body, null, 2) : call.show(answer.body));
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      console.error(`error: ${(error as Error).message} (USAGE)`);
      return 2;
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message;
    console.error(`error: cannot reach the emulator admin API${why === undefined ? '' : ` (${why})`}`);
    return 1;
  }
}

interface Call {
  readonly values: Values;
  readonly method: string;
  readonly path: string;
  readonly body?: Record<string, unknown>;
  /** Human-readable output of the answer. */
  readonly show: (body: unknown) => string;
}

const pretty = (body: unknown): string => JSON.stringify(body, null, 2);

function plan(command: string, args: readonly string[]): Call {
  const parse = (options: NonNullable<ParseArgsConfig['options']>, positionals = 0) => {
    const parsed = parseArgs({
      args: [...args],
      options: { ...COMMON, ...options },
      allowPositionals: true,
      strict: true,
    });
    if (parsed.positionals.length > positionals)
      throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`);
    return { values: parsed.values as Values, positionals: parsed.positionals };
  };
  const need = (values: Values, name: string): string => {
    const value = values[name];
    if (typeof value !== 'string' || value === '') throw new UsageError(`${command} needs --${name}`);
    return value;
  };
  const int = (values: Values, name: string): number | undefined => {
    const value = values[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number`);
    return Number(value);
  };

  switch (command) {
    case 'code': {
      const { values } = parse({
        user: { type: 'string' },
        scopes: { type: 'string' },
        'client-id': { type: 'string' },
        'access-type': { type: 'string' },
        'expires-in': { type: 'string' },
        dc: { type: 'string' },
      });
      return {
        values,
        method: 'POST',
        path: '/codes',
        body: {
          user: need(values, 'user'),
          scopes: need(values, 'scopes'),
          ...(values['client-id'] === undefined ? {} : { clientId: values['client-id'] }),
          ...(values['access-type'] === undefined ? {} : { accessType: values['access-type'] }),
          ...(values['expires-in'] === undefined ? {} : { expiresIn: values['expires-in'] }),
          ...(values['dc'] === undefined ? {} : { dc: values['dc'] }),
        },
        show: (body) => String((body as { code: string }).code),
      };
    }
    case 'consents': {
      const { values } = parse({});
      return { values, method: 'GET', path: '/consents', show: pretty };
    }
    case 'approve':
    case 'deny': {
      const { values } = parse({ user: { type: 'string' }, id: { type: 'string' }, 'auth-url': { type: 'string' } });
      return {
        values,
        method: 'POST',
        path: `/consents/${command}`,
        body: {
          ...(command === 'approve' ? { user: need(values, 'user') } : {}),
          ...(values['id'] === undefined ? {} : { id: values['id'] }),
          ...(values['auth-url'] === undefined ? {} : { url: values['auth-url'] }),
        },
        show: (body) => String((body as { location: string }).location),
      };
    }
    case 'clock': {
      const { values, positionals } = parse({}, 2);
      const showClock = (body: unknown): string => {
        const { mode, iso } = body as { mode: string; iso: string };
        return `${iso} (${mode} clock)`;
      };
      const [action, amount] = positionals;
      if (action === undefined) return { values, method: 'GET', path: '/clock', show: showClock };
      if ((action !== 'advance' && action !== 'set') || amount === undefined)
        throw new UsageError('clock takes "advance DURATION" or "set TIME"');
      const value = action === 'set' && /^\d+$/.test(amount) ? Number(amount) : amount;
      return { values, method: 'POST', path: '/clock', body: { [action]: value }, show: showClock };
    }
    case 'fault': {
      const { values, positionals } = parse(
        {
          kind: { type: 'string' },
          target: { type: 'string' },
          times: { type: 'string' },
          status: { type: 'string' },
          ms: { type: 'string' },
          dc: { type: 'string' },
        },
        2,
      );
      const [action, id] = positionals;
      if (action === 'add') {
        const times = int(values, 'times');
        const status = int(values, 'status');
        const ms = int(values, 'ms');
        return {
          values,
          method: 'POST',
          path: '/faults',
          body: {
            kind: need(values, 'kind'),
            ...(values['target'] === undefined ? {} : { target: values['target'] }),
            ...(values['dc'] === undefined ? {} : { dc: values['dc'] }),
            ...(times === undefined ? {} : { times }),
            ...(status === undefined ? {} : { status }),
            ...(ms === undefined ? {} : { ms }),
          },
          show: (body) => `fault ${(body as { id: number }).id} added`,
        };
      }
      if (action === 'list' || action === undefined) return { values, method: 'GET', path: '/faults', show: pretty };
      if (action === 'clear') {
        const query = values['target'] === undefined ? '' : `?target=${encodeURIComponent(values['target'] as string)}`;
        return {
          values,
          method: 'DELETE',
          path: `/faults${query}`,
          show: (body) => `${(body as { removed: number }).removed} fault(s) removed`,
        };
      }
      if (action === 'remove' && id !== undefined && /^\d+$/.test(id))
        return { values, method: 'DELETE', path: `/faults/${id}`, show: () => `fault ${id} removed` };
      throw new UsageError('fault takes add, list, clear or remove ID');
    }
    case 'stats': {
      const { values, positionals } = parse({}, 1);
      if (positionals[0] === 'reset') return { values, method: 'DELETE', path: '/stats', show: () => 'counters reset' };
      if (positionals[0] !== undefined) throw new UsageError('stats takes no argument, or "reset"');
      return { values, method: 'GET', path: '/stats', show: pretty };
    }
    case 'client': {
      const { values, positionals } = parse(
        {
          'client-id': { type: 'string' },
          'client-secret': { type: 'string' },
          'redirect-uri': { type: 'string', multiple: true },
          dc: { type: 'string', multiple: true },
        },
        1,
      );
      if (positionals[0] === 'list' || positionals[0] === undefined)
        return { values, method: 'GET', path: '/clients', show: pretty };
      if (positionals[0] !== 'add') throw new UsageError('client takes add or list');
      return {
        values,
        method: 'POST',
        path: '/clients',
        body: {
          ...(values['client-id'] === undefined ? {} : { clientId: values['client-id'] }),
          ...(values['client-secret'] === undefined ? {} : { clientSecret: values['client-secret'] }),
          ...(values['redirect-uri'] === undefined ? {} : { redirectUris: values['redirect-uri'] }),
          // Several --dc: a multi-DC client, the first its home.
          ...(values['dc'] === undefined ? {} : { dataCenters: values['dc'] }),
        },
        show: (body) => {
          const c = body as { clientId: string; clientSecret: string; dataCenters: string[] };
          // A secret given by flag is not echoed back; a generated one is shown once (it is the emulator's).
          const secret = values['client-secret'] === undefined ? c.clientSecret : '(as given)';
          return `client_id:     ${c.clientId}\nclient_secret: ${secret}\ndata centers:  ${c.dataCenters.join(' ')}`;
        },
      };
    }
    case 'user': {
      const { values, positionals } = parse({ dc: { type: 'string', multiple: true } }, 2);
      if (positionals[0] === 'list' || positionals[0] === undefined)
        return { values, method: 'GET', path: '/users', show: pretty };
      if (positionals[0] !== 'add' || positionals[1] === undefined)
        throw new UsageError('user takes "add EMAIL" or list');
      return {
        values,
        method: 'POST',
        path: '/users',
        body: { email: positionals[1], ...(values['dc'] === undefined ? {} : { dataCenters: values['dc'] }) },
        show: (body) => `user ${(body as { email: string }).email} added`,
      };
    }
    case 'tokens': {
      const { values } = parse({});
      return { values, method: 'GET', path: '/tokens', show: pretty };
    }
  }
  throw new UsageError(`unknown emulator command "${command}"`);
}

async function request(
  base: string,
  token: string | undefined,
  method: string,
  path: string,
  body: Record<string, unknown> | undefined,
): Promise<{ status: number; body: unknown }> {
  const url = new URL(`/__admin${path}`, base);
  const headers: Record<string, string> = {};
  if (token !== undefined && token !== '') headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed };
}
