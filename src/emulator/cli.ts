/**
 * `npm run emulator -- [--config file.json] [--port 8080] [--host 127.0.0.1] [--client-id ID]
 *   [--client-secret S] [--redirect-uri URL]... [--dc us]... [--user a@x.com] [--manual-clock]
 *   [--admin-token T] [--no-admin]`, or `npm run emulator -- <admin command> …` (admin-cli.ts).
 *
 * Starts an emulator (the config file's clients, else one demo client), prints how to use it, and
 * runs until SIGINT/SIGTERM. Standalone, time is real (tokens expire on their own) and the admin
 * API is on. A secret given by flag or file is not echoed back; a generated one is printed once
 * (it is the demo's).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isZohoTokenError } from '../errors.js';
import { ADMIN_COMMANDS, ADMIN_HELP, runAdminCommand } from './admin-cli.js';
import { loadEmulatorConfig } from './config-file.js';
import { newClientId, newClientSecret } from './ids.js';
import { startZohoEmulator } from './emulator.js';
import type { EmulatorClient, ZohoEmulatorOptions } from './options.js';

const help = (usage: string): string => `Usage: ${usage} [options]
  --config FILE         JSON config: clients, users, data centers, limits, lifetimes (docs/emulator.md)
  --port N              port of the default data center (default: the config's, else random)
  --host H              interface to listen on (default: 127.0.0.1)
  --client-id ID        add this client (default, when the config has no clients: a generated demo client)
  --client-secret S     its secret (default: generated; prefer the config file: argv is visible to other users)
  --redirect-uri URL    its redirect URI, repeatable (default: http://localhost:3000/cb)
  --dc LOC              data center to serve, repeatable; the first is the default (default: us)
  --user EMAIL          approve the consent page at once as this user
  --manual-clock        time stands still until "clock advance" moves it (default: real time)
  --admin-token T       require this token on the admin API (default: $ZOHO_EMULATOR_ADMIN_TOKEN;
                        needed when --host is not a loopback address)
  --no-admin            do not serve the admin API (/__admin/…)
  -h, --help            this text

${ADMIN_HELP(usage)}`;

/**
 * Runs the emulator CLI on `args` until SIGINT/SIGTERM; resolves to the exit code. Exported so the
 * `zoho-tokens emulator` command reuses it; `usage` is the command line shown in the help.
 */
export async function main(args: string[] = process.argv.slice(2), usage = 'npm run emulator --'): Promise<number> {
  const HELP = help(usage);
  if (args[0] !== undefined && ADMIN_COMMANDS.includes(args[0])) return runAdminCommand(args, process.env, usage);
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
        config: { type: 'string' },
        'manual-clock': { type: 'boolean' },
        'admin-token': { type: 'string' },
        'no-admin': { type: 'boolean' },
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
  if (values.port !== undefined && (!/^\d+$/.test(values.port) || Number(values.port) > 65535)) {
    console.error(`--port must be a port number, got "${values.port}"`);
    return 2;
  }
  const config: ZohoEmulatorOptions = values.config === undefined ? {} : await loadEmulatorConfig(values.config);
  const dataCenters = values.dc ?? config.dataCenters ?? ['us'];
  // The demo client: when asked for by flag, or when the config brings none.
  const demo =
    values['client-id'] !== undefined || values['client-secret'] !== undefined || (config.clients ?? []).length === 0;
  const demoClient: EmulatorClient = {
    clientId: values['client-id'] ?? newClientId(),
    clientSecret: values['client-secret'] ?? newClientSecret(),
    redirectUris: values['redirect-uri'] ?? ['http://localhost:3000/cb'],
    ...(values.dc === undefined ? {} : { dc: dataCenters[0]! }),
  };
  const manualClock = values['manual-clock'] === true || config.clock === 'manual';
  const adminToken = values['admin-token'] ?? (process.env['ZOHO_EMULATOR_ADMIN_TOKEN'] || undefined);

  const emu = await startZohoEmulator({
    ...config,
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values.port === undefined ? {} : { port: Number(values.port) }),
    dataCenters,
    ...(values.dc === undefined ? {} : { defaultDataCenter: dataCenters[0]! }),
    clients: [...(config.clients ?? []), ...(demo ? [demoClient] : [])],
    ...(values.user === undefined ? {} : { autoApprove: { user: values.user } }),
    // Standalone, time is real unless asked otherwise (flag, or the config's "clock").
    clock: manualClock ? 'manual' : 'real',
    ...(values['no-admin'] === true ? {} : { admin: adminToken === undefined ? {} : { token: adminToken } }),
  });
  const { clientId, clientSecret } = demoClient;
  const redirectUris = demoClient.redirectUris ?? [];

  const clientLines = demo
    ? [
        `client_id:      ${clientId}`,
        `client_secret:  ${values['client-secret'] === undefined ? clientSecret : '(as given)'}`,
        `redirect_uris:  ${redirectUris.join(' ')}`,
        `authorize:      ${emu.url}/oauth/v2/auth?client_id=${encodeURIComponent(clientId)}&response_type=code` +
          `&redirect_uri=${encodeURIComponent(redirectUris[0] ?? '')}&scope=ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ&access_type=offline`,
      ]
    : [];
  // Clients from the config file: ids only, their secrets are in the file.
  for (const client of config.clients ?? []) clientLines.push(`client_id:      ${client.clientId} (from the config)`);
  const lines = [
    `Zoho emulator listening on ${emu.url} (data center ${emu.environment.location})`,
    ...emu.dataCenters.slice(1).map((dc) => `  data center ${dc}: ${emu.environmentFor(dc).accountsUrl}`),
    ...clientLines,
    `token endpoint: ${emu.url}/oauth/v2/token`,
    `clock:          ${manualClock ? 'manual (moves only with "clock advance")' : 'real time'}`,
    emu.adminUrl === undefined
      ? 'admin API:      off'
      : `admin API:      ${emu.adminUrl}${adminToken === undefined ? '' : ' (token required)'}`,
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
