/** Fields the consent page carries back to the decision endpoint. */
export interface ConsentPageInput {
  /** Where the forms POST (e.g. `/oauth/v2/auth/decision`). */
  readonly action: string;
  /** Original authorization parameters, echoed as hidden fields. */
  readonly params: ReadonlyMap<string, string>;
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** Pre-filled user email. */
  readonly user: string;
}

/**
 * A deliberately plain page: two forms (Approve / Deny) with the same hidden fields, so a test can
 * either parse it or just POST the fields itself. Stable markers: `id="approve-form"`,
 * `id="deny-form"`, `name="decision"` with values `approve` / `deny`, `name="user"`.
 */
export function renderConsentPage(input: ConsentPageInput): string {
  const hidden = [...input.params]
    .filter(([key]) => key !== 'user' && key !== 'decision')
    .map(([key, value]) => `<input type="hidden" name="${esc(key)}" value="${esc(value)}">`)
    .join('\n      ');
  const scopes = input.scopes.map((s) => `<li>${esc(s)}</li>`).join('');
  return page(
    'Authorize application',
    `<h1>Authorize application</h1>
    <p>Client <code>${esc(input.clientId)}</code> would like to access:</p>
    <ul>${scopes}</ul>
    <form id="approve-form" method="POST" action="${esc(input.action)}">
      ${hidden}
      <label>Email <input type="email" name="user" value="${esc(input.user)}" required></label>
      <button type="submit" name="decision" value="approve">Approve</button>
    </form>
    <form id="deny-form" method="POST" action="${esc(input.action)}">
      ${hidden}
      <button type="submit" name="decision" value="deny">Deny</button>
    </form>`,
  );
}

/** An error page: the emulator never redirects to an unverified redirect URI. */
export function renderErrorPage(title: string, message: string): string {
  return page(title, `<h1>${esc(title)}</h1>\n    <p id="error">${esc(message)}</p>`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>${esc(title)} - Zoho emulator</title></head>
  <body>
    ${body}
  </body>
</html>
`;
}

function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
