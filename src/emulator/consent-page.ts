import { createHash } from 'node:crypto';

/** Fields the consent page carries back to the decision endpoint. */
export interface ConsentPageInput {
  /** Where the forms POST (e.g. `/oauth/v2/auth/decision`). */
  readonly action: string;
  /** Original authorization parameters, echoed as hidden fields. */
  readonly params: ReadonlyMap<string, string>;
  readonly clientId: string;
  /** The application's name (the client's `name`, else its id). */
  readonly appName: string;
  readonly scopes: readonly string[];
  /** Accounts to choose from, the pre-selected one first; empty: an e-mail box instead. */
  readonly accounts: readonly string[];
}

/** The field of the "Use another account" e-mail box (the chooser's `user` radio is then empty). */
export const OTHER_USER_FIELD = 'user_other';

/**
 * Looks like Zoho's consent page: the application's name, the signed-in account (a chooser when
 * several test users exist), the scopes in words, Reject / Accept. One inline style sheet, allowed
 * by its hash in the page's CSP: no external assets, no script. Stable markers for tests that
 * parse it: `id="approve-form"` (hidden fields, then `name="user"`), `id="deny-form"` (hidden
 * fields only; its Reject button sits in the approve form's button row via `form="deny-form"`),
 * `name="decision"` with values `approve` / `deny`.
 */
export function renderConsentPage(input: ConsentPageInput): string {
  const hidden = [...input.params]
    .filter(([key]) => key !== 'user' && key !== 'decision' && key !== OTHER_USER_FIELD)
    .map(([key, value]) => `<input type="hidden" name="${esc(key)}" value="${esc(value)}">`)
    .join('\n        ');
  const scopes = input.scopes
    .map(
      (scope) => `<li><span class="scope-text">${esc(describeScope(scope))}</span>
            <code>${esc(scope)}</code></li>`,
    )
    .join('\n          ');
  const app = esc(input.appName);
  return page(
    `${input.appName} would like to access your Zoho account`,
    `<main class="consent" aria-labelledby="consent-title">
      <form id="deny-form" method="POST" action="${esc(input.action)}">
        ${hidden}
      </form>
      <form id="approve-form" method="POST" action="${esc(input.action)}">
        ${hidden}
        <div class="app-mark" aria-hidden="true">${esc(initials(input.appName))}</div>
        <h1 id="consent-title"><span class="app-name">${app}</span> would like to access the following information in your Zoho account</h1>
        <p class="client-id">Client ID <code>${esc(input.clientId)}</code></p>
        ${accountChooser(input.accounts)}
        <h2 id="scopes-title">${app} will be able to:</h2>
        <ul class="scopes" aria-labelledby="scopes-title">
          ${scopes}
        </ul>
        <p class="fine-print">By clicking Accept, you allow ${app} to use your information in accordance with its terms of service and privacy policy. You can revoke this access at any time.</p>
        <div class="actions">
          <button type="submit" form="deny-form" name="decision" value="deny" class="reject">Reject</button>
          <button type="submit" name="decision" value="approve" class="accept">Accept</button>
        </div>
      </form>
    </main>`,
  );
}

function accountChooser(accounts: readonly string[]): string {
  if (accounts.length === 0) {
    return `<div class="account">
          <label for="user-email">Sign in with your e-mail address</label>
          <input id="user-email" type="email" name="user" required autocomplete="email">
        </div>`;
  }
  const options = accounts
    .map(
      (email, i) => `<label class="choice">
            <input type="radio" name="user" value="${esc(email)}"${i === 0 ? ' checked' : ''}>
            <span class="avatar" aria-hidden="true">${esc(email.charAt(0).toUpperCase())}</span>
            <span class="email">${esc(email)}</span>
          </label>`,
    )
    .join('\n          ');
  return `<fieldset class="account">
          <legend>${accounts.length === 1 ? 'Signed in as' : 'Choose an account'}</legend>
          ${options}
          <label class="choice">
            <input type="radio" name="user" value="">
            <span class="avatar other" aria-hidden="true">+</span>
            <span>Use another account</span>
          </label>
          <label class="other-email" for="user-other">E-mail of another account
            <input id="user-other" type="email" name="${OTHER_USER_FIELD}" autocomplete="email">
          </label>
        </fieldset>`;
}

const SERVICES: Readonly<Record<string, string>> = {
  zohocrm: 'Zoho CRM',
  zohobooks: 'Zoho Books',
  zohodesk: 'Zoho Desk',
  zohoprojects: 'Zoho Projects',
  zohosign: 'Zoho Sign',
  aaaserver: 'Zoho Accounts',
};
const OPERATIONS: Readonly<Record<string, string>> = {
  all: 'View, create, update and delete',
  read: 'View',
  create: 'Create',
  update: 'Update',
  write: 'Create and update',
  delete: 'Delete',
};
const GROUPS: Readonly<Record<string, string>> = {
  modules: 'records in all modules',
  users: 'users of your organization',
  org: 'your organization’s details',
  settings: 'settings',
  'settings.modules': 'module settings',
  'settings.fields': 'field settings',
  'settings.layouts': 'layouts',
  coql: 'records through COQL queries',
  bulk: 'bulk read and write jobs',
  notifications: 'notification channels',
  'profile.userinfo': 'your profile',
};

/** `ZohoCRM.modules.leads.READ` → "View Leads (Zoho CRM)"; unknown shapes are shown as they are. */
export function describeScope(scope: string): string {
  const parts = scope.split('.');
  if (parts.length < 3) return scope;
  const service = SERVICES[parts[0]!.toLowerCase()] ?? parts[0]!;
  const operation = OPERATIONS[parts.at(-1)!.toLowerCase()];
  if (operation === undefined) return scope;
  const groups = parts.slice(1, -1).map((g) => g.toLowerCase());
  const what =
    GROUPS[groups.join('.')] ??
    (groups[0] === 'modules' && groups.length === 2
      ? capitalize(groups[1]!)
      : groups.map((g) => g.replace(/_/g, ' ')).join(' '));
  return `${operation} ${what} (${service})`;
}

/** An error page: the emulator never redirects to an unverified redirect URI. */
export function renderErrorPage(title: string, message: string): string {
  return page(
    title,
    `<main class="consent">
      <h1>${esc(title)}</h1>
      <p id="error">${esc(message)}</p>
    </main>`,
  );
}

const STYLE = `
  :root { color-scheme: light; font-family: "Segoe UI", system-ui, -apple-system, Roboto, Helvetica, Arial, sans-serif; color: #1f2328; }
  body { margin: 0; background: #f4f6f8; }
  .topbar { display: flex; align-items: center; gap: .5rem; padding: .9rem 1.5rem; background: #fff; border-bottom: 1px solid #e3e6ea; }
  .logo { display: inline-flex; gap: 2px; font-weight: 800; font-size: 1.05rem; letter-spacing: .02em; }
  .logo span { display: inline-block; width: 1.35rem; text-align: center; color: #fff; border-radius: 3px; }
  .logo .z { background: #e42527; } .logo .o1 { background: #089949; } .logo .h { background: #226db4; } .logo .o2 { background: #f9b21d; }
  .topbar .product { color: #5b6670; font-size: .95rem; }
  .consent { max-width: 34rem; margin: 2rem auto; background: #fff; border: 1px solid #e3e6ea; border-radius: 8px; padding: 2rem 2.25rem; box-shadow: 0 2px 10px rgb(0 0 0 / 6%); }
  .app-mark { width: 3rem; height: 3rem; border-radius: 10px; background: #226db4; color: #fff; display: grid; place-items: center; font-weight: 700; font-size: 1.2rem; }
  h1 { font-size: 1.2rem; font-weight: 500; line-height: 1.45; margin: 1rem 0 .25rem; }
  .app-name { font-weight: 700; }
  h2 { font-size: 1rem; margin: 1.5rem 0 .5rem; }
  .client-id { margin: 0; color: #5b6670; font-size: .8rem; }
  .account { border: 1px solid #e3e6ea; border-radius: 6px; margin: 1.25rem 0 0; padding: .75rem 1rem; }
  .account legend { padding: 0 .35rem; color: #5b6670; font-size: .85rem; }
  .choice { display: flex; align-items: center; gap: .6rem; padding: .4rem .25rem; border-radius: 6px; cursor: pointer; }
  .choice:hover { background: #f4f6f8; }
  .avatar { width: 2rem; height: 2rem; border-radius: 50%; background: #089949; color: #fff; display: grid; place-items: center; font-weight: 700; }
  .avatar.other { background: #8c959f; }
  .email { font-weight: 600; }
  .other-email { display: grid; gap: .3rem; margin: .4rem 0 0 2.9rem; font-size: .85rem; color: #5b6670; }
  input[type="email"] { font: inherit; padding: .5rem .6rem; border: 1px solid #c4cbd3; border-radius: 5px; }
  .account > label[for="user-email"] { display: block; margin-bottom: .4rem; }
  .scopes { list-style: none; padding: 0; margin: 0; border-top: 1px solid #e3e6ea; }
  .scopes li { padding: .65rem 0 .65rem 1.6rem; border-bottom: 1px solid #e3e6ea; position: relative; }
  .scopes li::before { content: "✓"; position: absolute; left: .2rem; color: #089949; font-weight: 700; }
  .scopes code, .client-id code { display: block; color: #5b6670; font-size: .78rem; margin-top: .15rem; }
  .client-id code { display: inline; }
  .fine-print { color: #5b6670; font-size: .8rem; line-height: 1.5; margin-top: 1.25rem; }
  .actions { display: flex; justify-content: flex-end; gap: .75rem; margin-top: 1.25rem; }
  .actions button { font: inherit; font-weight: 600; padding: .6rem 1.6rem; border-radius: 5px; cursor: pointer; }
  .reject { background: #fff; color: #1f2328; border: 1px solid #c4cbd3; }
  .accept { background: #226db4; color: #fff; border: 1px solid #226db4; }
  button:focus-visible, input:focus-visible, .choice:focus-within { outline: 3px solid #f9b21d; outline-offset: 2px; }
  #error { color: #b42318; }
`;

/** The CSP of every emulator page: only its own inline style sheet (by hash), no script, no framing. */
export function pageCsp(formTargets: readonly string[] = []): string {
  const hash = createHash('sha256').update(STYLE, 'utf8').digest('base64');
  const forms = formTargets.length === 0 ? '' : ` form-action 'self' ${formTargets.join(' ')};`;
  return `default-src 'none'; style-src 'sha256-${hash}';${forms} frame-ancestors 'none'; base-uri 'none'`;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${esc(title)} - Zoho emulator</title>
    <style>${STYLE}</style>
  </head>
  <body>
    <header class="topbar">
      <span class="logo" aria-label="Zoho"><span class="z">Z</span><span class="o1">O</span><span class="h">H</span><span class="o2">O</span></span>
      <span class="product">Accounts (emulator)</span>
    </header>
    ${body}
  </body>
</html>
`;
}

function initials(name: string): string {
  const words = name.split(/\s+/).filter((w) => /^[\p{L}\p{N}]/u.test(w));
  return (
    words
      .slice(0, 2)
      .map((w) => w.charAt(0).toUpperCase())
      .join('') || '?'
  );
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
