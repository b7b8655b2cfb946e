/**
 * `npm run portal`: the web portal on http://127.0.0.1:3000.
 *
 * Without ZOHO_CLIENT_ID it runs against an in-process Zoho emulator (two test users to choose
 * from on its consent page) with tokens in `portal.db` (SQLite). Against real Zoho, set the same
 * variables as `npm start`: ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_DC (`EU`, `EU:sandbox`, …),
 * ZOHO_TOKEN_STORE (`sqlite:portal.db`, …) and ZOHO_REDIRECT_URL (registered in Zoho's API console;
 * default `${PORTAL_URL}/oauth/callback`).
 *
 * Portal settings: PORTAL_URL (default http://127.0.0.1:3000; https turns on Secure cookies),
 * PORTAL_SESSION_SECRET (signs the session cookie; without it sessions end when the portal stops),
 * PORTAL_ADMIN_PASSWORD (turns on /admin).
 */
import { serve } from '@hono/node-server';
import { DataCenter, ZohoAuth, isZohoTokenError, openStore, type Environment } from 'zoho-token-store';
import { startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { createPortal } from './portal.js';
import { randomToken } from './session.js';

const SCOPES = ['ZohoCRM.users.READ', 'ZohoCRM.org.READ', 'ZohoCRM.modules.leads.ALL'];
const EMULATOR_CLIENT = {
  clientId: '1000.PORTALCLIENT000000000000000000',
  clientSecret: 'portal-client-secret-of-the-emulator-0',
};

function environmentOf(value: string): Environment {
  const [dcName = 'US', kind = 'production'] = value.split(':');
  const dc = DataCenter[dcName.toUpperCase() as keyof typeof DataCenter];
  if (dc === undefined || !['production', 'sandbox', 'developer'].includes(kind))
    throw new Error(`ZOHO_DC must be like EU or EU:sandbox (data centers: ${Object.keys(DataCenter).join(', ')})`);
  return dc[kind as 'production' | 'sandbox' | 'developer'];
}

async function main(env: NodeJS.ProcessEnv): Promise<void> {
  const portalUrl = new URL(env.PORTAL_URL ?? 'http://127.0.0.1:3000');
  const redirectUrl = env.ZOHO_REDIRECT_URL ?? new URL('/oauth/callback', portalUrl).href;
  const real = env.ZOHO_CLIENT_ID !== undefined && env.ZOHO_CLIENT_ID !== '';
  let emu: ZohoEmulator | undefined;
  if (!real) {
    emu = await startZohoEmulator({
      clients: [{ ...EMULATOR_CLIENT, name: 'Zoho portal (example)', redirectUris: [redirectUrl] }],
      users: [{ email: 'alice.smith@example.com' }, { email: 'bob.jones@example.com' }],
    });
  }
  if (real && !env.ZOHO_CLIENT_SECRET) throw new Error('ZOHO_CLIENT_SECRET is not set');
  const store = await openStore(env.ZOHO_TOKEN_STORE ?? 'sqlite:portal.db');
  if (emu !== undefined) {
    // The emulator starts empty each time: the tokens it issued in an earlier run can never work again.
    for (const token of await store.getTokens())
      if (token.clientId === EMULATOR_CLIENT.clientId && token.id) await store.deleteToken(token.id);
  }
  const auth = new ZohoAuth({
    store,
    environment: emu?.environment ?? environmentOf(env.ZOHO_DC ?? 'US'),
    clientId: real ? env.ZOHO_CLIENT_ID! : EMULATOR_CLIENT.clientId,
    clientSecret: real ? env.ZOHO_CLIENT_SECRET! : EMULATOR_CLIENT.clientSecret,
    redirectUrl,
    ...(emu === undefined ? {} : { clock: emu.clock }),
  });
  const app = createPortal({
    auth,
    scopes: SCOPES,
    sessionSecret: env.PORTAL_SESSION_SECRET || randomToken(),
    secure: portalUrl.protocol === 'https:',
    adminPassword: env.PORTAL_ADMIN_PASSWORD,
    environments: emu === undefined ? [] : emu.dataCenters.map((dc) => emu.environmentFor(dc)),
    ...(emu === undefined ? {} : { now: () => emu.clock.now() }),
  });
  const server = serve({ fetch: app.fetch, hostname: portalUrl.hostname, port: Number(portalUrl.port || 80) });
  console.log(
    `Zoho portal on ${portalUrl.origin} (${emu === undefined ? auth.environment.name : `emulator at ${emu.url}`})`,
  );
  if (!env.PORTAL_SESSION_SECRET) console.log('PORTAL_SESSION_SECRET is not set: sessions end when the portal stops.');
  if (!env.PORTAL_ADMIN_PASSWORD) console.log('PORTAL_ADMIN_PASSWORD is not set: /admin is off.');
  const stop = (): void => {
    server.close();
    void Promise.all([store.close(), emu?.close()]).finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

try {
  await main(process.env);
} catch (error) {
  const code = isZohoTokenError(error) ? ` [${error.code}]` : '';
  console.error(`Portal failed to start${code}: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
