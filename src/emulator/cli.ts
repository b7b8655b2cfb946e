/**
 * `npm run emulator -- [--port 8080] [--host 127.0.0.1] [--client-id ID] [--client-secret S]
 *   [--redirect-uri URL]... [--dc us]... [--user a@x.com]`
 *
 * Starts an emulator with one demo client, prints how to use it, and runs until SIGINT/SIGTERM.
 * A secret given by flag is not echoed back; a generated one is printed once (it is the demo's).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isZohoTokenError } from '../errors.js';
import { newClientId, newClientSecret } from './ids.js';
import { startZohoEmulator } from './emulator.js';

const help = (usage: string): string => `Usage: ${usage} [options]
  --port N              port of the default data center (default: random)
  --host H              interface to listen on (default: 127.0.0.1)
  --client-id ID        demo client id (default: generated)
  --client-secret S     demo client secret (default: generated)
  --redirect-uri URL    registered redirect URI, repeatable (default: http://localhost:3000/cb)
  --dc LOC              data center to serve, repeatable; the first is the default (default: us)
  --user EMAIL          approve the consent page at once as this user
  -h, --help            this text`;

/**
 * Runs the emulator CLI on `args` until SIGINT/SIGTERM; resolves to the exit code. Exported so the
 * `zoho-tokens emulator` command reuses it; `usage` is the command line shown in the help.
 */
export async function main(args: string[] = process.argv.slice(2), usage = 'npm run emulator --'): Promise<number> {
  const HELP = help(usage);
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        dc: { type: 'string', multiple: true },
        user: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    console.error(HELP);
    return 2;
  }
  if (values.help === true) {
    console.log(HELP);
    return 0;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a port number, got "${values.port}"`);
    return 2;
  }
  const dataCenters = values.dc ?? ['us'];
  const clientId = values['client-id'] ?? newClientId();
  const clientSecret = values['client-secret'] ?? newClientSecret();
  const redirectUris = values['redirect-uri'] ?? ['http://localhost:3000/cb'];

  const emu = await startZohoEmulator({
    ...(values.host === undefined ? {} : { host: values.host }),
    port,
    dataCenters,
    defaultDataCenter: dataCenters[0]!,
    clients: [{ clientId, clientSecret, redirectUris }],
    ...(values.user === undefined ? {} : { autoApprove: { user: values.user } }),
  });

  const lines = [
    `Zoho emulator listening on ${emu.url} (data center ${emu.environment.location})`,
    ...emu.dataCenters.slice(1).map((dc) => `  data center ${dc}: ${emu.environmentFor(dc).accountsUrl}`),
    `client_id:      ${clientId}`,
    `client_secret:  ${values['client-secret'] === undefined ? clientSecret : '(as given)'}`,
    `redirect_uris:  ${redirectUris.join(' ')}`,
    `authorize:      ${emu.url}/oauth/v2/auth?client_id=${encodeURIComponent(clientId)}&response_type=code` +
      `&redirect_uri=${encodeURIComponent(redirectUris[0] ?? '')}&scope=ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ&access_type=offline`,
    `token endpoint: ${emu.url}/oauth/v2/token`,
    'Press Ctrl+C to stop.',
  ];
  console.log(lines.join('\n'));

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await emu.close();
  console.log('Zoho emulator stopped.');
  return 0;
}

/** True when this file is the process's entry point (`npm run emulator`), not an import. */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      // Only the message: a cause could carry request data.
      console.error(
        isZohoTokenError(error)
          ? `${error.code}: ${error.message}`
          : error instanceof Error
            ? error.message
            : String(error),
      );
      process.exitCode = 1;
    },
  );
}
