/**
 * The portal as a Hono app: "Login with Zoho", a per-user dashboard, Disconnect and an admin page.
 * Every Zoho call goes through ZohoAuth / ZohoClient with `{ user }` from the signed session, so a
 * browser only ever reaches its own user's token, and no token ever leaves the server.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Hono, type Context } from 'hono';
import {
  DataCenter,
  ErrorCode,
  ZohoClient,
  isZohoTokenError,
  type Environment,
  type OAuthToken,
  type ZohoAuth,
} from 'zoho-token-store';
import {
  adminLoginPage,
  adminPage,
  dashboardPage,
  homePage,
  messagePage,
  NOTICES,
  type ConnectionRow,
  type LeadRow,
} from './pages.js';
import { readSession, randomToken, writeSession, type Session, type SessionConfig } from './session.js';

/** What {@link createPortal} needs. */
export interface PortalOptions {
  /** Tokens of the portal's Zoho client (its `redirectUrl` is the portal's `/oauth/callback`). */
  readonly auth: ZohoAuth;
  /** Scopes asked for at login; `ZohoCRM.users.READ` is needed to learn the user's e-mail. */
  readonly scopes: readonly string[];
  /** Signs the session cookie; the same secret across restarts keeps browsers signed in. */
  readonly sessionSecret: string;
  /** Served over https: Secure `__Host-` cookie and HSTS. */
  readonly secure: boolean;
  /** The admin page's password; undefined turns the admin page off. */
  readonly adminPassword?: string;
  /** Environments beyond Zoho's own to name in the admin list (the emulator's). */
  readonly environments?: readonly Environment[];
  /** The accounts server's time in ms (the emulator's clock in emulator mode). @default Date.now */
  readonly now?: () => number;
}

const LOGIN_WINDOW_MS = 10 * 60_000;
/** How long an admin sign-in lasts. */
const ADMIN_SESSION_MS = 8 * 3600_000;
const LOGIN_THROTTLE_WINDOW_MS = 60_000;
const MAX_FAILED_LOGINS = 5;
const CSS = readFileSync(new URL('./portal.css', import.meta.url), 'utf8');

// No inline script or style, no framing, forms post only here; the referrer never carries `?code=`.
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-store',
};

interface Users {
  users: { id: string; email: string; full_name: string; role?: { name: string } }[];
}
interface Leads {
  data: Record<string, unknown>[];
}

/** The portal's routes on a web-standard handler (`app.fetch`). */
export function createPortal(options: PortalOptions): Hono {
  const { auth } = options;
  const client = new ZohoClient({ auth });
  const config: SessionConfig = { secret: options.sessionSecret, secure: options.secure };
  const now = options.now ?? Date.now;
  // States already brought back: a replayed callback is refused even with an old cookie.
  const usedStates = new Map<string, number>();
  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
    if (options.secure) c.res.headers.set('strict-transport-security', 'max-age=31536000');
  });

  app.get('/static/portal.css', (c) => c.body(CSS, 200, { 'content-type': 'text/css; charset=utf-8' }));

  app.get('/', async (c) => {
    const session = await readSession(c, config);
    if (session.user !== undefined) return c.redirect('/dashboard', 303);
    await writeSession(c, config, session);
    const notice = c.req.query('notice');
    return c.html(homePage(notice !== undefined && Object.hasOwn(NOTICES, notice) ? notice : undefined));
  });

  // --- login -----------------------------------------------------------------------------------
  app.get('/login', async (c) => {
    const session = await readSession(c, config);
    const state = randomToken();
    session.login = { state, expiresAt: Date.now() + LOGIN_WINDOW_MS };
    await writeSession(c, config, session);
    return c.redirect(auth.authorizationUrl({ scopes: [...options.scopes], state }).href, 302);
  });

  app.get('/oauth/callback', async (c) => {
    const session = await readSession(c, config);
    const pending = session.login;
    // One use only: the pending login is gone whatever happens next.
    delete session.login;
    await writeSession(c, config, session);
    forgetOldStates(usedStates);
    if (pending === undefined || pending.expiresAt < Date.now() || usedStates.has(pending.state)) {
      return c.html(
        messagePage(
          'Login refused',
          'This login answer does not belong to a login started in this browser, or it was already used. Start again with "Login with Zoho".',
        ),
        400,
      );
    }
    usedStates.set(pending.state, pending.expiresAt);
    let token: OAuthToken;
    try {
      // Checks `state`, then exchanges the code once at the callback's data center (`location`,
      // `accounts-server`); the token is stored under the user's e-mail (learnt from the CRM).
      token = await auth.exchangeCallback(c.req.url, { state: pending.state });
    } catch (error) {
      if (isZohoTokenError(error, ErrorCode.OAUTH_ERROR) && error.apiCode === 'access_denied')
        return c.html(messagePage('No access given', NOTICES['denied']!), 200);
      if (isZohoTokenError(error, ErrorCode.INVALID_ARGUMENT) && error.field === 'state')
        return c.html(
          messagePage('Login refused', 'The answer from Zoho does not match the login started in this browser.'),
          400,
        );
      return c.html(messagePage('Login failed', `Zoho could not complete the login (${codeOf(error)}).`), 502);
    }
    const user = token.userName;
    if (user === null)
      return c.html(messagePage('Login failed', 'Zoho did not tell who you are (scope ZohoCRM.users.READ?).'), 502);
    session.user = user;
    await writeSession(c, config, session);
    return c.redirect('/dashboard', 303);
  });

  // --- the user's own data -----------------------------------------------------------------------
  app.get('/dashboard', async (c) => {
    const session = await readSession(c, config);
    const user = session.user;
    if (user === undefined) return c.redirect('/', 303);
    try {
      const [me, leads] = await Promise.all([
        client.get<Users>('/crm/v8/users', { user, query: { type: 'CurrentUser' } }),
        client.get<Leads>('/crm/v8/Leads', {
          user,
          query: { fields: ['Last_Name', 'First_Name', 'Company', 'Email', 'Owner'], per_page: 200 },
        }),
      ]);
      const profile = me?.users[0];
      // The org's leads are shared between its users: the dashboard shows the ones this user owns.
      const own = (leads?.data ?? []).filter((lead) => ownerEmail(lead) === user.toLowerCase()).reverse();
      return c.html(
        dashboardPage({
          user,
          fullName: profile?.full_name ?? user,
          role: profile?.role?.name ?? 'user',
          leads: own.slice(0, 10).map(leadRow),
          csrf: session.csrf,
        }),
      );
    } catch (error) {
      return zohoFailure(c, config, session, error);
    }
  });

  app.post('/leads', async (c) => {
    const form = await checkedForm(c, config);
    if (form instanceof Response) return form;
    const { session, fields } = form;
    if (session.user === undefined) return c.redirect('/', 303);
    const lastName = fields.get('last_name')?.trim() ?? '';
    if (lastName === '') return c.html(messagePage('Lead not created', 'A last name is required.'), 400);
    const lead: Record<string, string> = { Last_Name: lastName.slice(0, 80) };
    const company = fields.get('company')?.trim();
    const email = fields.get('email')?.trim();
    if (company) lead['Company'] = company.slice(0, 100);
    if (email) lead['Email'] = email.slice(0, 100);
    try {
      await client.request('POST', '/crm/v8/Leads', { user: session.user, body: { data: [lead] } });
    } catch (error) {
      return zohoFailure(c, config, session, error);
    }
    return c.redirect('/dashboard', 303);
  });

  app.post('/disconnect', async (c) => {
    const form = await checkedForm(c, config);
    if (form instanceof Response) return form;
    const { session } = form;
    if (session.user !== undefined) {
      try {
        // Revoked at the token's own accounts server, then deleted from the store.
        await auth.revoke({ user: session.user });
      } catch (error) {
        return c.html(messagePage('Not disconnected', `Zoho could not be reached (${codeOf(error)}); try again.`), 502);
      }
    }
    delete session.user;
    await writeSession(c, config, session);
    return c.redirect('/?notice=disconnected', 303);
  });

  // --- admin -------------------------------------------------------------------------------------
  const adminDigest =
    options.adminPassword === undefined || options.adminPassword === '' ? undefined : digest(options.adminPassword);
  // Names the password without revealing it: a different password makes every admin session stale.
  const adminKey =
    adminDigest === undefined
      ? undefined
      : digest(`portal-admin-session:${options.adminPassword}`).toString('base64url');
  const isAdmin = (session: Session): boolean =>
    adminKey !== undefined &&
    session.admin?.key === adminKey &&
    typeof session.admin.at === 'number' &&
    Date.now() - session.admin.at < ADMIN_SESSION_MS;
  // Failed admin logins per client address in the current minute: password guessing is throttled.
  const failedLogins = new Map<string, { count: number; since: number }>();
  const ADMIN_NOTICES: Readonly<Record<string, string>> = {
    refreshed: 'Token refreshed.',
    revoked: 'Connection revoked at Zoho and deleted; that user must log in again.',
    failed: 'Zoho could not be reached or refused; nothing changed.',
  };

  app.get('/admin', async (c) => {
    const session = await readSession(c, config);
    await writeSession(c, config, session);
    if (!isAdmin(session)) return c.html(adminLoginPage(session.csrf, adminDigest !== undefined, false));
    const tokens = (await auth.store.getTokens()).filter((t) => t.clientId === auth.clientId);
    const key = c.req.query('notice') ?? '';
    const notice = Object.hasOwn(ADMIN_NOTICES, key) ? ADMIN_NOTICES[key] : undefined;
    return c.html(
      adminPage(
        tokens.map((t) => connectionRow(t, now(), options.environments ?? [])),
        session.csrf,
        notice,
      ),
    );
  });

  app.post('/admin/login', async (c) => {
    const form = await checkedForm(c, config);
    if (form instanceof Response) return form;
    const { session, fields } = form;
    const address = clientAddress(c);
    const now = Date.now();
    const failures = failedLogins.get(address);
    if (
      failures !== undefined &&
      now - failures.since < LOGIN_THROTTLE_WINDOW_MS &&
      failures.count >= MAX_FAILED_LOGINS
    )
      return c.html(messagePage('Too many attempts', 'Too many wrong passwords: wait a minute.'), 429);
    if (adminDigest === undefined || !timingSafeEqual(digest(fields.get('password') ?? ''), adminDigest)) {
      if (failures === undefined || now - failures.since >= LOGIN_THROTTLE_WINDOW_MS) {
        if (failedLogins.size >= 10_000) failedLogins.clear(); // bounded memory under a spray of addresses
        failedLogins.set(address, { count: 1, since: now });
      } else failures.count++;
      return c.html(adminLoginPage(session.csrf, adminDigest !== undefined, true), 401);
    }
    failedLogins.delete(address);
    session.admin = { at: now, key: adminKey! };
    session.csrf = randomToken(); // a new privilege, a new CSRF token
    await writeSession(c, config, session);
    return c.redirect('/admin', 303);
  });

  app.post('/admin/logout', async (c) => {
    const form = await checkedForm(c, config);
    if (form instanceof Response) return form;
    delete form.session.admin;
    await writeSession(c, config, form.session);
    return c.redirect('/admin', 303);
  });

  for (const action of ['refresh', 'revoke'] as const) {
    app.post(`/admin/${action}`, async (c) => {
      const form = await checkedForm(c, config);
      if (form instanceof Response) return form;
      if (!isAdmin(form.session)) return c.redirect('/admin', 303);
      const id = form.fields.get('id') ?? '';
      try {
        if (action === 'refresh') await auth.refresh({ id });
        else await auth.revoke({ id });
      } catch {
        return c.redirect('/admin?notice=failed', 303);
      }
      return c.redirect(`/admin?notice=${action === 'refresh' ? 'refreshed' : 'revoked'}`, 303);
    });
  }

  app.notFound((c) => c.html(messagePage('Not found', 'There is no such page.'), 404));
  app.onError((error, c) => c.html(messagePage('Something went wrong', `Error ${codeOf(error)}.`), 500));
  return app;
}

/** The form of a POST whose CSRF token matches the session's; else a 403 page. */
async function checkedForm(
  c: Context,
  config: SessionConfig,
): Promise<{ session: Session; fields: Map<string, string> } | Response> {
  const session = await readSession(c, config);
  const body = await c.req.parseBody();
  const fields = new Map(
    Object.entries(body).flatMap(([key, value]) => (typeof value === 'string' ? [[key, value] as const] : [])),
  );
  const sent = Buffer.from(fields.get('csrf') ?? '');
  const expected = Buffer.from(session.csrf);
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected))
    return c.html(messagePage('Request refused', 'This form has expired. Reload the page and try again.'), 403);
  return { session, fields };
}

/** A dead or missing token sends the user back to "Login with Zoho"; anything else is an error page. */
async function zohoFailure(c: Context, config: SessionConfig, session: Session, error: unknown): Promise<Response> {
  if (isZohoTokenError(error, ErrorCode.AUTH_REQUIRED)) {
    delete session.user;
    await writeSession(c, config, session);
    return c.redirect('/?notice=reconnect', 303);
  }
  return c.html(messagePage('Zoho is unavailable', `Your CRM could not be reached (${codeOf(error)}).`), 502);
}

function codeOf(error: unknown): string {
  return isZohoTokenError(error) ? error.code : 'UNEXPECTED';
}

/** The peer address of the request (Node's socket), for throttling; one bucket when unknown. */
function clientAddress(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function forgetOldStates(used: Map<string, number>): void {
  const time = Date.now();
  for (const [state, expiresAt] of used) if (expiresAt < time) used.delete(state);
}

function ownerEmail(lead: Record<string, unknown>): string | undefined {
  const owner = lead['Owner'];
  return typeof owner === 'object' && owner !== null && 'email' in owner && typeof owner.email === 'string'
    ? owner.email.toLowerCase()
    : undefined;
}

function leadRow(lead: Record<string, unknown>): LeadRow {
  const text = (key: string): string => (typeof lead[key] === 'string' ? (lead[key] as string) : '');
  return {
    id: text('id'),
    name: [text('First_Name'), text('Last_Name')].filter(Boolean).join(' '),
    company: text('Company'),
    email: text('Email'),
  };
}

function connectionRow(token: OAuthToken, time: number, extra: readonly Environment[]): ConnectionRow {
  const zoho = Object.values(DataCenter).flatMap((dc) => [dc.production, dc.sandbox, dc.developer]);
  const env = [...zoho, ...extra].find((e) => e.accountsUrl === token.accountsUrl && e.apiDomain === token.apiDomain);
  const expiresAt = token.expiresAt ?? 0;
  const status = !token.refreshToken ? 'needs login' : expiresAt <= time ? 'expired' : 'active';
  return {
    id: token.id ?? '',
    user: token.userName ?? '(unknown user)',
    dataCenter: env?.name ?? (token.accountsUrl ? new URL(token.accountsUrl).host : 'unbound'),
    expiresIn: status === 'active' ? `${Math.max(1, Math.round((expiresAt - time) / 60_000))} min` : '—',
    status,
  };
}
