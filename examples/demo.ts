/**
 * `npm start`: the whole token story, printed as a short transcript.
 *
 * Without configuration it runs against the in-process Zoho emulator and keeps tokens in
 * `zohooauth.db` (SQLite, in the working directory). Each run first deletes the demo user's row
 * (and only that row), so reruns start clean and other rows in the file are left alone.
 *
 * Against real Zoho, set ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_DC (`EU`, `EU:sandbox`, …),
 * ZOHO_TOKEN_STORE (`sqlite:zohooauth.db`, …) and ZOHO_GRANT_TOKEN (a Self Client code; exchanged
 * once, reused from the store on later runs) or ZOHO_USER (a user already stored). The emulator-only
 * steps (clock, counters, revoke) are skipped: exchange-or-reuse → CRM call → status.
 */
import { randomUUID } from 'node:crypto';
import {
  DataCenter,
  ErrorCode,
  OAuthToken,
  SqliteStore,
  ZohoAuth,
  ZohoClient,
  isZohoTokenError,
  openStore,
  redact,
} from 'zoho-token-store';
import { startZohoEmulator } from 'zoho-token-store/emulator';

const DB_FILE = 'zohooauth.db';
const USER = 'demo.user@example.com';
const DEMO_CLIENT = {
  clientId: '1000.DEMOCLIENT0000000000000000000',
  clientSecret: 'demo-client-secret-of-the-emulator-0000',
};
// Never listened on: the demo plays the browser and reads the redirect's Location header.
const REDIRECT = 'http://127.0.0.1:8765/oauth/callback';
const SCOPES = ['ZohoCRM.users.READ', 'ZohoCRM.org.READ', 'ZohoCRM.modules.ALL'];

interface Users {
  users: { email: string; full_name: string }[];
}

const say = (step: string, detail: string): void => console.log(`${step.padEnd(26)} ${detail}`);
const time = (ms: number | null | undefined): string =>
  ms == null ? 'none' : new Date(ms).toISOString().replace('.000Z', 'Z');

function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

/** The approve form of the consent page: its action and fields (hidden inputs, HTML-unescaped). */
function approveForm(html: string): { action: string; fields: URLSearchParams } {
  const form = /<form id="approve-form"[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  check(form !== null, 'the consent page has no approve form');
  const unescape = (s: string): string =>
    s.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
  const fields = new URLSearchParams();
  for (const [, name, value] of form[2]!.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g))
    fields.append(unescape(name!), unescape(value!));
  return { action: unescape(form[1]!), fields };
}

async function emulatorDemo(): Promise<void> {
  console.log(`Zoho OAuth token lifecycle against the local emulator; tokens in ./${DB_FILE}\n`);
  const emu = await startZohoEmulator({ clients: [{ ...DEMO_CLIENT, redirectUris: [REDIRECT] }] });
  let store = new SqliteStore({ filename: DB_FILE });
  try {
    const previous = await store.findToken(new OAuthToken({ userSignature: USER, clientId: DEMO_CLIENT.clientId }));
    if (previous?.id) await store.deleteToken(previous.id);
    const options = { environment: emu.environment, ...DEMO_CLIENT, redirectUrl: REDIRECT, clock: emu.clock };
    const auth = new ZohoAuth({ store, ...options });
    const client = new ZohoClient({ auth });

    // 1. Consent, as a browser would: GET the consent page, POST "Approve", read the redirect.
    const state = randomUUID();
    const consentUrl = auth.authorizationUrl({ scopes: SCOPES, state });
    const page = await fetch(consentUrl);
    const form = approveForm(await page.text());
    form.fields.set('user', USER);
    form.fields.set('decision', 'approve');
    const decision = await fetch(new URL(form.action, consentUrl), {
      method: 'POST',
      body: form.fields,
      redirect: 'manual',
    });
    const callback = decision.headers.get('location');
    check(decision.status === 302 && callback !== null, `approving answered HTTP ${decision.status}, not a redirect`);
    const params = new URL(callback).searchParams;
    say(
      '1. consent (web flow)',
      `GET consent page → ${page.status}; POST approve → ${decision.status} to ${REDIRECT}?code=${redact(params.get('code'))}&location=${params.get('location')}`,
    );

    // 2-3. The callback's code is exchanged at its data center and the tokens saved.
    const token = await auth.exchangeCallback(callback, { state });
    say('2. code exchanged', `${emu.stats().grantRequests} grant request; user ${token.userName}`);
    const row = await store.findTokenById(token.id!);
    check(row !== null && row.refreshToken === token.refreshToken, 'the token was not persisted');
    say('3. tokens persisted', `row id ${row.id}, user ${row.userName}, expires ${time(row.expiresAt)}`);
    say('', `access ${redact(row.accessToken)}, refresh ${redact(row.refreshToken)}, api ${row.apiDomain}`);

    // 4. A CRM call as that user.
    const me = await client.get<Users>('/crm/v8/users', { user: USER, query: { type: 'CurrentUser' } });
    check(me?.users[0]?.email === USER, 'the CRM answered another user');
    say('4. CRM call', `GET /crm/v8/users?type=CurrentUser → ${me.users[0].full_name} <${me.users[0].email}>`);

    // 5-6. Past expiry, 100 concurrent calls share one refresh.
    emu.clock.advance(61 * 60_000);
    say('5. clock advanced', `emulator time ${time(emu.clock.now())}: the access token has expired`);
    const before = emu.stats();
    await Promise.all(Array.from({ length: 100 }, () => client.get('/crm/v8/org', { user: USER })));
    const after = emu.stats();
    const refreshes = after.refreshRequests - before.refreshRequests;
    check(refreshes === 1, `100 concurrent calls made ${refreshes} refreshes, not 1`);
    const refreshed = await store.findTokenById(token.id!);
    say(
      '6. 100 concurrent calls',
      `${after.apiSuccesses - before.apiSuccesses} API successes, ${refreshes} refresh (emulator counter); new expiry ${time(refreshed?.expiresAt)}`,
    );

    // 7. As after a restart: a new store handle and a new ZohoAuth serve the user without a login.
    await store.close();
    store = new SqliteStore({ filename: DB_FILE });
    const restarted = new ZohoAuth({ store, ...options });
    const again = await new ZohoClient({ auth: restarted }).get<Users>('/crm/v8/users', {
      user: USER,
      query: { type: 'CurrentUser' },
    });
    const quiet = emu.stats();
    check(
      quiet.grantRequests === after.grantRequests && quiet.refreshRequests === after.refreshRequests,
      'the restart needed a new login or refresh',
    );
    say('7. after a restart', `fresh store + ZohoAuth → ${again?.users[0]?.email}; 0 logins, 0 refreshes`);

    // 8-9. Revoke, then the user must log in again.
    await restarted.revoke({ user: USER });
    check(
      (await store.findTokenById(token.id!)) === null && emu.stats().revokeSuccesses === 1,
      'the revoke did not complete',
    );
    say('8. revoked', `revoke requests at Zoho: ${emu.stats().revokeRequests}; row ${token.id} deleted`);
    try {
      await new ZohoClient({ auth: restarted }).get('/crm/v8/org', { user: USER });
      throw new Error('a call after the revoke succeeded');
    } catch (error) {
      if (!isZohoTokenError(error, ErrorCode.AUTH_REQUIRED)) throw error;
      say('9. next call', `${error.code}: ${error.message}`);
    }
    console.log('\nOK: the whole lifecycle ran as expected.');
  } finally {
    await store.close();
    await emu.close();
  }
}

async function realZohoDemo(env: NodeJS.ProcessEnv): Promise<void> {
  const [dcName = 'US', kind = 'production'] = (env.ZOHO_DC ?? 'US').split(':');
  const dc = DataCenter[dcName.toUpperCase() as keyof typeof DataCenter];
  check(
    dc !== undefined && ['production', 'sandbox', 'developer'].includes(kind),
    `ZOHO_DC must be like EU or EU:sandbox (data centers: ${Object.keys(DataCenter).join(', ')})`,
  );
  const environment = dc[kind as 'production' | 'sandbox' | 'developer'];
  const clientSecret = env.ZOHO_CLIENT_SECRET;
  check(!!clientSecret, 'ZOHO_CLIENT_SECRET is not set');
  const storeUrl = env.ZOHO_TOKEN_STORE ?? `sqlite:${DB_FILE}`;
  console.log(
    `Zoho OAuth against ${environment.name} (${environment.accountsUrl}); tokens in ${storeUrl.split(':')[0]}:…\n`,
  );
  const store = await openStore(storeUrl);
  try {
    const auth = new ZohoAuth({
      store,
      environment,
      clientId: env.ZOHO_CLIENT_ID!,
      clientSecret,
      redirectUrl: env.ZOHO_REDIRECT_URL,
    });
    let who: { user: string } | { id: string };
    if (env.ZOHO_GRANT_TOKEN) {
      const token = await auth.exchangeGrantToken(env.ZOHO_GRANT_TOKEN, env.ZOHO_USER ? { user: env.ZOHO_USER } : {});
      say(
        '1. exchange or reuse',
        `token id ${token.id}, user ${token.userName ?? '(unknown)'}, expires ${time(token.expiresAt)}`,
      );
      who = token.userName ? { user: token.userName } : { id: token.id! };
    } else {
      check(!!env.ZOHO_USER, 'set ZOHO_GRANT_TOKEN (a Self Client code) or ZOHO_USER (a stored user)');
      who = { user: env.ZOHO_USER };
      say('1. stored user', env.ZOHO_USER);
    }
    const me = await new ZohoClient({ auth }).get<Users>('/crm/v8/users', { ...who, query: { type: 'CurrentUser' } });
    say('2. CRM call', `GET /crm/v8/users?type=CurrentUser → ${me?.users[0]?.full_name} <${me?.users[0]?.email}>`);
    const token = await auth.getToken(who);
    say('3. status', `token id ${token.id} valid until ${time(token.expiresAt)}; api ${token.apiDomain}`);
  } finally {
    await store.close();
  }
}

try {
  await (process.env.ZOHO_CLIENT_ID ? realZohoDemo(process.env) : emulatorDemo());
} catch (error) {
  const code = isZohoTokenError(error) ? ` [${error.code}]` : '';
  console.error(`\nDemo failed${code}: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
