/**
 * `zoho-token-store/emulator`: a local Zoho accounts server + small CRM API on 127.0.0.1, so
 * tests and demos never touch real Zoho. Start one with {@link startZohoEmulator}.
 *
 * Two ways in, one set of routes: the HTTP listeners (`emu.url`, one per data center), and
 * `emu.fetch`, a web-standard `fetch` served in process with no socket:
 *
 * ```ts
 * const emu = await startZohoEmulator({ clients: [client] });
 * const auth = new ZohoAuth({ ...options, environment: emu.environment, fetch: emu.fetch });
 * const crm = new ZohoClient({ auth, fetch: emu.fetch });
 * ```
 *
 * Both count in the stats, see the same faults and tell the same observer. `emu.fetch` routes by
 * origin (a listener's URL names its data center); any other origin rejects as a fetch to a closed
 * port does. See {@link ZohoEmulator.fetch} for how drops, aborts and redirects come back.
 *
 * Behaviour follows Zoho's documented protocol; where Zoho's behaviour is unconfirmed, these choices hold:
 *
 * - Refresh token on web-flow exchange: only with `access_type=offline`, and only when the
 *   user+client currently holds no valid refresh token ("first consent"; revoking them all makes
 *   the next consent first again), or with `prompt=consent`, or with `refreshTokenOnEveryConsent`.
 *   Self Client codes with `accessType: 'offline'` (the default) always yield one.
 * - Mint throttle: only `grant_type=refresh_token` mints count toward the 10-per-10-minutes window
 *   (per refresh token, sliding, emulator clock); the access token issued with the refresh token
 *   at code exchange does not count, but it is live (counts toward the 15-live cap, dies on revoke).
 *   Throttled requests do not count either.
 * - Token endpoint errors: missing grant_type/client_id/client_secret/code/refresh_token →
 *   `invalid_request`; unknown grant type → `unsupported_grant_type`; right client, wrong secret →
 *   `invalid_client_secret`; unknown client or client of another DC → `invalid_client`; a code or
 *   refresh token of another client → `invalid_code`. A wrong redirect_uri answers
 *   `invalid_redirect_uri` and does NOT consume the code. Self Client codes ignore redirect_uri.
 * - Revoke: `POST /oauth/v2/token/revoke` (and `/oauth/v2/revoke/token`), token in query or
 *   form, no client authentication. Unknown/already revoked token or another DC's token → HTTP 400
 *   `{"status":"failure","error":"invalid_token"}`; no token → HTTP 400 `…"error":"invalid_request"`.
 * - Grant-code cap (10 per client per 10 minutes, web flow and Self Client together): the auth
 *   page and the decision POST answer an HTTP 429 HTML error page (no redirect);
 *   `createGrantCode` / `approve` reject with `ZohoTokenError` code `THROTTLED` (`retryAfterMs`).
 * - Auth request: any DC's listener accepts it; the redirect's `location` / `accounts-server`
 *   name the client's DC (as Zoho's global login does). Unknown client, unregistered
 *   redirect_uri, response_type ≠ code or no scope → HTTP 400 error page, never a redirect.
 *   The consent page looks like Zoho's: the client's `name`, an account chooser (`login_hint`,
 *   `defaultUser`, the users of the client's data center, "Use another account"), the scopes in
 *   words, Reject / Accept; one inline style sheet allowed by its hash in the page's CSP, no
 *   script, no external asset.
 *   Reject → `redirect_uri?error=access_denied&state=…`. Scripts can skip the HTML with
 *   `autoApprove: { user }` / `emu.setAutoApprove(user)` (GET answers the 302 at once) or
 *   `await emu.approve(authUrl, { user })` which returns the redirect URL.
 * - Dead access tokens (expired, revoked, evicted, unknown) → 401 `INVALID_TOKEN`, or
 *   `AUTHENTICATION_FAILURE` with `deadTokenError: 'AUTHENTICATION_FAILURE'`; a live token used at
 *   another DC is always `INVALID_TOKEN`. The API takes `Authorization: Zoho-oauthtoken <token>` or
 *   `Authorization: Bearer <token>` (as Zoho's "Using the Access token" documents; scheme names
 *   case-insensitive); a missing header or any other scheme → `AUTHENTICATION_FAILURE`.
 * - Scopes (case-insensitive): a granted `ZohoCRM.<groups>.<OP>` covers a need when its groups are
 *   a prefix of the needed ones and OP is ALL or the needed operation. Needs: users → users.READ,
 *   org → org.READ, settings/modules → settings.modules.READ, settings/fields →
 *   settings.fields.READ, records → modules.<module>.READ / CREATE / UPDATE / DELETE (WRITE also
 *   covers the last three). So `ZohoCRM.modules.ALL` and `ZohoCRM.modules.leads.ALL` open Leads,
 *   `ZohoCRM.settings.ALL` opens settings. Missing → 401 `OAUTH_SCOPE_MISMATCH`.
 * - CRM: one org per DC; users are whoever got a code there. Modules Leads, Contacts, Accounts and
 *   Deals with their standard fields (`GET /crm/v8/settings/modules`, `…/settings/fields?module=`);
 *   records: list, get, create, update, upsert, delete, search (`criteria`, `email`, `phone`,
 *   `word`), `actions/count`, with Zoho's shapes: `data` arrays, per-record `SUCCESS` or errors
 *   (`INVALID_DATA`, `MANDATORY_NOT_FOUND`), writes 201/200 all done, 207 some, 400 none; an empty
 *   list or search and `GET /{module}/{id}` for an unknown or deleted id answer 204 (as Zoho);
 *   `fields` is optional (Zoho v8 requires it); values are checked by field type, fields the
 *   module does not have are stored as sent; module names are case-insensitive; another
 *   capitalized name is `INVALID_MODULE`.
 * - Token responses carry `scope` (space-separated) besides Zoho's documented fields.
 * - An injected `status` 401 on the API answers Zoho's JSON `INVALID_TOKEN` body (a revoked or
 *   evicted token, as a client sees it); other statuses answer an HTML error page.
 * - Faults: `latency` waits real time and combines with the next fault; at most one other fault
 *   applies per request; injected `throttle` answers Zoho's Access Denied body on token/revoke and
 *   HTTP 429 `TOO_MANY_REQUESTS` on the API. Faults are applied after the request is read and
 *   classified, so faulted requests count in `grantRequests` / `refreshRequests` etc.
 * - Multi-DC clients (`dataCenters` on a client; Zoho's multi-DC setting, one id and secret): the
 *   client is known at each listed accounts server, but each data center knows only the codes and
 *   tokens it issued: another's code or refresh token answers `invalid_code`, another's access
 *   token `INVALID_TOKEN`, revoking another's refresh token HTTP 400. A data center the client is
 *   not enabled in answers `invalid_client`. Consent at an enabled data center's listener issues
 *   the code there; elsewhere at the client's home `dc`. Self Client codes take `dc`.
 * - Times come from `emu.clock`: in process a manual clock by default (it moves only via
 *   `advance` / `set`); with `clock: 'real'` (the standalone server's default) it follows the host's
 *   clock and `advance` / `set` shift it.
 * - Admin API (`admin` option; always on in the standalone server unless `--no-admin`): JSON under
 *   `/__admin/…` on every listener, outside Zoho's surface, bypassing faults and stats; refuses
 *   requests with an `Origin` header, needs `Authorization: Bearer <admin token>` when a token is
 *   set, and a token is required to serve it on a non-loopback host. See docs/emulator.md.
 *
 * @packageDocumentation
 */
export { startZohoEmulator } from './emulator.js';
export type { GrantCodeRequest, ZohoEmulator } from './emulator.js';
export { createEmulatorClock, createRealEmulatorClock } from './clock.js';
export { loadEmulatorConfig, parseEmulatorConfig } from './config-file.js';
export type { EmulatorClock } from './clock.js';
export type { FaultControls, FaultHandle, FaultKind, FaultSpec, FaultTarget } from './faults.js';
export { CLASSIC_THROTTLE_DESCRIPTION } from './options.js';
export type {
  DeadTokenError,
  EmulatorAdminOptions,
  EmulatorClient,
  EmulatorLimits,
  EmulatorUser,
  ZohoEmulatorOptions,
} from './options.js';
export type { EmulatorObserver, RequestEvent, TokenIssuedEvent } from './observer.js';
export type { EmulatorStats } from './stats.js';
export type { TokenInfo } from './state.js';
