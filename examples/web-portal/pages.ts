/** The portal's pages. No inline script or style anywhere: the CSP forbids them. */
import { html, type Html } from './html.js';

/** A stored connection as the admin page shows it: never a token. */
export interface ConnectionRow {
  readonly id: string;
  readonly user: string;
  readonly dataCenter: string;
  /** e.g. `42 min`, `expired`, `—`. */
  readonly expiresIn: string;
  readonly status: 'active' | 'expired' | 'needs login';
}

export interface LeadRow {
  readonly id: string;
  readonly name: string;
  readonly company: string;
  readonly email: string;
}

function layout(title: string, body: Html, user?: string): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Zoho portal</title>
        <link rel="stylesheet" href="/static/portal.css" />
      </head>
      <body>
        <header class="bar">
          <a class="brand" href="/">Zoho portal</a>
          ${user === undefined ? '' : html`<span class="who" data-testid="signed-in-as">${user}</span>`}
        </header>
        <main>${body}</main>
      </body>
    </html> `.value;
}

function csrfField(csrf: string): Html {
  return html`<input type="hidden" name="csrf" value="${csrf}" />`;
}

/** Messages the home page may show, by code (a query parameter never carries free text). */
export const NOTICES: Readonly<Record<string, string>> = {
  reconnect: 'Your Zoho connection has ended: access was revoked or has expired. Log in with Zoho again to reconnect.',
  disconnected: 'Disconnected: the portal revoked its access at Zoho and deleted your tokens.',
  denied: 'You declined access, so nothing was connected. You can try again whenever you like.',
};

export function homePage(notice: string | undefined): string {
  const message = notice === undefined ? undefined : NOTICES[notice];
  return layout(
    'Welcome',
    html`<section class="card">
      <h1>Your CRM, one click away</h1>
      ${message === undefined ? '' : html`<p class="notice" role="status" data-testid="notice">${message}</p>`}
      <p>Connect your Zoho account once; the portal keeps the connection fresh from then on.</p>
      <a class="button primary" href="/login" data-testid="login">Login with Zoho</a>
    </section>`,
  );
}

export function dashboardPage(input: {
  user: string;
  fullName: string;
  role: string;
  leads: readonly LeadRow[];
  csrf: string;
  created?: string;
}): string {
  const rows = input.leads.map(
    (lead) =>
      html`<tr data-testid="lead">
        <td>${lead.name}</td>
        <td>${lead.company}</td>
        <td>${lead.email}</td>
      </tr>`,
  );
  return layout(
    'Dashboard',
    html`<section class="card">
        <h1>Hello, <span data-testid="full-name">${input.fullName}</span></h1>
        <p>Signed in with Zoho as <strong data-testid="email">${input.user}</strong> (${input.role}).</p>
        <form method="post" action="/disconnect" class="inline">
          ${csrfField(input.csrf)}
          <button type="submit" class="button" data-testid="disconnect">Disconnect Zoho</button>
        </form>
      </section>
      <section class="card">
        <h2>Your leads</h2>
        ${input.created === undefined ? '' : html`<p class="notice" role="status">Lead ${input.created} created.</p>`}
        ${
          rows.length === 0
            ? html`<p data-testid="no-leads">No leads yet.</p>`
            : html`<table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Company</th>
                    <th scope="col">E-mail</th>
                  </tr>
                </thead>
                <tbody>
                  ${rows}
                </tbody>
              </table>`
        }
        <h3>New lead</h3>
        <form method="post" action="/leads" class="grid">
          ${csrfField(input.csrf)}
          <label for="last-name">Last name</label>
          <input id="last-name" name="last_name" required maxlength="80" />
          <label for="company">Company</label>
          <input id="company" name="company" maxlength="100" />
          <label for="email">E-mail</label>
          <input id="email" name="email" type="email" maxlength="100" />
          <button type="submit" class="button primary" data-testid="create-lead">Create lead</button>
        </form>
      </section>`,
    input.user,
  );
}

/** A page for a refused or failed step: a title, a sentence, and the way back. */
export function messagePage(title: string, message: string): string {
  return layout(
    title,
    html`<section class="card">
      <h1 data-testid="title">${title}</h1>
      <p data-testid="message">${message}</p>
      <a class="button primary" href="/">Back to the portal</a>
    </section>`,
  );
}

export function adminLoginPage(csrf: string, enabled: boolean, failed: boolean): string {
  return layout(
    'Admin',
    enabled
      ? html`<section class="card">
          <h1>Admin</h1>
          ${failed ? html`<p class="notice" role="alert">Wrong password.</p>` : ''}
          <form method="post" action="/admin/login" class="grid">
            ${csrfField(csrf)}
            <label for="password">Admin password</label>
            <input id="password" name="password" type="password" required autocomplete="current-password" />
            <button type="submit" class="button primary">Sign in</button>
          </form>
        </section>`
      : html`<section class="card">
          <h1>Admin</h1>
          <p>The admin page is off: set PORTAL_ADMIN_PASSWORD to turn it on.</p>
        </section>`,
  );
}

export function adminPage(rows: readonly ConnectionRow[], csrf: string, notice: string | undefined): string {
  const body = rows.map(
    (row) =>
      html`<tr data-testid="connection" data-user="${row.user}">
        <td>${row.user}</td>
        <td>${row.dataCenter}</td>
        <td>${row.expiresIn}</td>
        <td><span class="status ${row.status.replace(' ', '-')}">${row.status}</span></td>
        <td class="actions">
          <form method="post" action="/admin/refresh" class="inline">
            ${csrfField(csrf)}<input type="hidden" name="id" value="${row.id}" />
            <button type="submit" class="button" aria-label="Refresh ${row.user}">Refresh</button>
          </form>
          <form method="post" action="/admin/revoke" class="inline">
            ${csrfField(csrf)}<input type="hidden" name="id" value="${row.id}" />
            <button type="submit" class="button danger" aria-label="Revoke ${row.user}">Revoke</button>
          </form>
        </td>
      </tr>`,
  );
  return layout(
    'Connections',
    html`<section class="card wide">
      <h1>Stored connections</h1>
      ${notice === undefined ? '' : html`<p class="notice" role="status" data-testid="notice">${notice}</p>`}
      ${
        rows.length === 0
          ? html`<p>No connections stored.</p>`
          : html`<table>
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Data center</th>
                  <th scope="col">Expires in</th>
                  <th scope="col">Status</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                ${body}
              </tbody>
            </table>`
      }
      <form method="post" action="/admin/logout" class="inline">
        ${csrfField(csrf)}<button type="submit" class="button">Sign out</button>
      </form>
    </section>`,
  );
}
