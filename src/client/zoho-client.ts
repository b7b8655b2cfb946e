import { diagnostics } from '../diagnostics.js';
import { ErrorCode, ZohoTokenError, isZohoTokenError } from '../errors.js';
import { apiError, httpExchange, type HttpExchangeRequest } from '../http/http-exchange.js';
import type { AccessCredentials } from '../auth/token-cache.js';
import type { TokenRef } from '../auth/token-ref.js';
import type { ZohoAuth } from '../auth/zoho-auth.js';
import type { OAuthToken } from '../token/oauth-token.js';
import { describeOrigin, plainHttpUrl } from '../auth/trusted-endpoints.js';
import { sanitizeCause } from '../redact.js';
import { isNodeFetch } from '../http/light-abort.js';
import { socketTimeoutDispatcher, type SocketTimeoutDispatcher } from '../http/socket-timeouts.js';
import {
  rateLimitPolicy,
  rateLimitedError,
  retryAfterMs,
  waitOrAbort,
  type RateLimitOptions,
  type RateLimitPolicy,
} from './rate-limit.js';
import type { ZohoPage, ZohoPageInfo } from './pages.js';
import { isLegacyStream, isStreamSource, streamBody, type StreamBody } from './stream-body.js';
import type { ZohoResponseOf, ZohoResponseType } from './response-types.js';
import { dataCenterOfApiDomain, zohoServiceUrl, type ZohoService } from './service-hosts.js';

/** The options of `new ZohoClient(options)`; a bad value throws `INVALID_ARGUMENT` naming it. */
export interface ZohoClientOptions {
  /** Supplies the access token and API domain of each call. */
  auth: ZohoAuth;
  /**
   * `fetch` for API calls.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
  /**
   * How long to wait for Zoho, in ms. With Node's own fetch and its default global Agent (or
   * another undici Agent made without options), from 10 s up: the time allowed for the answer's headers, then between any two parts of its body (a
   * download that keeps moving is not cut, a stalled one is), kept by undici on the socket (its
   * timers tick every half second, so up to 1 s late; connecting is bounded by undici's connect
   * timeout, 10 s by default; each redirect hop has its own). Otherwise (under 10 s, another fetch, a global dispatcher of the
   * application's such as a proxy or a mock): one timer of ours for the whole exchange (the
   * headers only for `'stream'` and `'response'`; with a stream body, always our timer over the whole
   * exchange, upload included). Either way a limit that passes closes the
   * connection (`NETWORK`). 0 turns ours off (undici's own 300 s limits still apply to Node's
   * fetch); at most 2^31 − 1. For a hard deadline over everything, pass
   * `signal: AbortSignal.timeout(ms)` (it fails as `ABORTED`).
   * @default 30_000
   */
  timeoutMs?: number;
  /**
   * API 429 `TOO_MANY_REQUESTS`: bounded retries honouring `Retry-After`, then `RATE_LIMITED`
   * with `retryAfterMs`. `{ maxRetries: 0 }` fails at the first 429.
   * @default { maxRetries: 2, maxTotalWaitMs: 30_000, defaultWaitMs: 1_000 }
   */
  rateLimit?: RateLimitOptions;
  /**
   * The Zoho product calls go to unless a request names another: its API host in the token's own
   * data center, from the built-in table ({@link ZohoService}) or {@link services}. The token is
   * sent nowhere else.
   * @default 'crm' (the token's API domain)
   */
  service?: ZohoService | (string & {});
  /**
   * API base URLs configured by the application, by service name: one URL for every token, or
   * one per data center location (`{ eu: 'https://desk.zoho.eu' }`; other data centers use the
   * built-in table). For products not in the table, or a proxy. Trusted because configured.
   */
  services?: Readonly<Record<string, string | Readonly<Record<string, string>>>>;
}

/**
 * One API call. Name exactly one of `user`, `id`, `token`. `R` is the {@link responseType}, which
 * decides what the call resolves to ({@link ZohoResponseOf}).
 */
export interface ZohoRequestOptions<R extends ZohoResponseType = ZohoResponseType> {
  /** Call as this Zoho user (email). */
  user?: string;
  /** Call with the stored token of this id. */
  id?: string;
  /** Call with this token (matched in the store as {@link ZohoAuth.getAccessToken} does). */
  token?: OAuthToken;
  /** Query parameters; arrays are sent comma-separated (Zoho's list form); null/undefined are skipped. */
  query?:
    | Readonly<Record<string, string | number | boolean | null | undefined | readonly (string | number | boolean)[]>>
    | URLSearchParams;
  /**
   * The request body. `FormData` is sent as `multipart/form-data` (attachments, photos, file
   * uploads), `URLSearchParams` as a form, a `Blob`, `ArrayBuffer` or typed array as raw bytes
   * (`application/octet-stream` unless `headers` name a type), a string as is (as JSON unless
   * `headers` name a type), a `ReadableStream`, Node stream or other async iterable as raw bytes
   * read while sending (chunks of bytes or strings; `application/octet-stream` unless `headers`
   * name a type), anything else as JSON. A stream must be fresh (not read, not locked) and is sent
   * once: after a 401 INVALID_TOKEN the token is refreshed but the call fails (API_ERROR, status
   * 401: call again with a new stream), a 429 fails at once (RATE_LIMITED with `retryAfterMs`), a
   * redirect is the answer (API_ERROR with its 3xx status), `timeoutMs` bounds the whole exchange,
   * upload included, and a failed call closes the stream. A `Blob` (e.g. `fs.openAsBlob(path)`) is
   * read from disk as it is sent and can be sent again.
   */
  body?: unknown;
  /** Extra headers; an `Authorization` header here is ignored. */
  headers?: Readonly<Record<string, string>>;
  /** Caller cancellation: aborts the request (the error is `ABORTED`). */
  signal?: AbortSignal;
  /**
   * Call this Zoho product's API instead of the client's {@link ZohoClientOptions.service}: e.g.
   * `'desk'` sends the request to `https://desk.zoho.eu` + path for an EU token.
   */
  service?: ZohoService | (string & {});
  /**
   * What a 2xx answer resolves to: `'json'` the parsed JSON (null for 204 or an empty body);
   * `'bytes'` `{ status, headers, body: Uint8Array }` (attachments, photos, ZIPs); `'stream'`
   * `{ status, headers, body: ReadableStream }`, the body left to read; `'response'` the fetch
   * `Response` itself. A non-2xx answer throws API_ERROR whatever the type. The time limit covers
   * the body for `'json'` and `'bytes'` (as {@link ZohoClientOptions.timeoutMs} says), the headers
   * only for `'stream'` and `'response'`.
   * @default 'json'
   */
  responseType?: R;
}

/**
 * A list call for {@link ZohoClient.pages}: a GET with the options of a request (no body, JSON
 * answers), plus which array holds the items.
 */
export interface ZohoPagesOptions extends Omit<ZohoRequestOptions<'json'>, 'body' | 'responseType'> {
  /**
   * The answer's array of items: `data` for records, `users` for `/users`…
   * @default 'data'
   */
  key?: string;
}

/** Zoho's codes for a dead access token (expired, revoked, evicted): worth one refresh and retry. */
const TOKEN_REJECTED = new Set(['INVALID_TOKEN', 'AUTHENTICATION_FAILURE']);
const METHOD = /^[A-Z]+$/;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const SENT_ONCE = 'a stream body is sent once';

/**
 * Calls the Zoho CRM API as a user: `Authorization: Zoho-oauthtoken <access>` against the token's
 * own API domain (or, with `service`, another Zoho product's API host of the token's data center),
 * JSON in and out; an API domain that is neither Zoho's nor configured in the auth
 * is refused (UNTRUSTED_ENDPOINT) before anything is sent. A 401 INVALID_TOKEN / AUTHENTICATION_FAILURE makes the auth
 * drop or refresh the token (`handleUnauthorized`) and the call is retried ONCE. A 429
 * `TOO_MANY_REQUESTS` (the request was not processed) is retried after `Retry-After`, within
 * bounds ({@link ZohoClientOptions.rateLimit}). Nothing else is retried (API calls need not be idempotent). Other non-2xx answers throw API_ERROR with `status`,
 * `apiCode` (Zoho's `code`) and Zoho's message; 204 (and an empty body) resolves to null.
 */
export class ZohoClient {
  /** The {@link ZohoClientOptions.auth} that supplies the tokens. */
  readonly auth: ZohoAuth;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #dispatcher: SocketTimeoutDispatcher | undefined;
  readonly #rateLimit: RateLimitPolicy;
  readonly #service: string | undefined;
  readonly #services: ReadonlyMap<string, string | ReadonlyMap<string, string>>;
  /**
   * The usual headers of each cached token, built once (undici then reuses the flattened value);
   * only for Node's own fetch, which copies them: another fetch may change what it is given.
   */
  readonly #plainHeaders: WeakMap<AccessCredentials, Record<string, string>> | undefined;
  /** `service apiDomain` → base URL, resolved once. */
  readonly #serviceUrls = new Map<string, string>();

  /**
   * @throws {@link ZohoTokenError} `INVALID_ARGUMENT` (with `field`) when `auth` is not a ZohoAuth,
   *   `fetch` is not a function or `timeoutMs` is not a number from 0 to 2^31 − 1.
   */
  constructor(options: ZohoClientOptions) {
    const auth = options?.auth as unknown as Partial<ZohoAuth> | undefined;
    if (
      typeof auth?.getCredentials !== 'function' ||
      typeof auth.handleUnauthorized !== 'function' ||
      typeof auth.checkApiDomain !== 'function'
    ) {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'ZohoClient options.auth must be a ZohoAuth', {
        field: 'auth',
      });
    }
    this.auth = options.auth;
    this.#fetch = options.fetch ?? globalThis.fetch;
    if (typeof this.#fetch !== 'function')
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'ZohoClient options.fetch must be a function', {
        field: 'fetch',
      });
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    // Node's timers take at most 2^31 - 1 ms (about 24.8 days); a longer one fires at once.
    if (
      typeof this.#timeoutMs !== 'number' ||
      !Number.isFinite(this.#timeoutMs) ||
      this.#timeoutMs < 0 ||
      this.#timeoutMs > MAX_TIMEOUT_MS
    ) {
      throw new ZohoTokenError(
        ErrorCode.INVALID_ARGUMENT,
        `ZohoClient options.timeoutMs must be a number of ms from 0 to ${MAX_TIMEOUT_MS}`,
        { field: 'timeoutMs' },
      );
    }
    this.#dispatcher = socketTimeoutDispatcher(this.#fetch, this.#timeoutMs);
    this.#plainHeaders = isNodeFetch(this.#fetch) ? new WeakMap() : undefined;
    this.#rateLimit = rateLimitPolicy(options.rateLimit);
    this.#services = configuredServices(options.services);
    if (options.service !== undefined && typeof options.service !== 'string')
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'ZohoClient options.service must be a service name', {
        field: 'service',
      });
    this.#service = options.service === 'crm' && !this.#services.has('crm') ? undefined : options.service;
  }

  /**
   * `path` is relative to the API domain, e.g. `/crm/v8/users`. Resolves to the parsed JSON, or null.
   *
   * @throws {@link ZohoTokenError} `API_ERROR` (with `status`, `apiCode`) for a non-2xx answer;
   *   `RATE_LIMITED` (with `retryAfterMs`) when 429 `TOO_MANY_REQUESTS` outlasted the retries of
   *   {@link ZohoClientOptions.rateLimit};
   *   `MALFORMED_RESPONSE` for a 2xx body that is not JSON; `NETWORK` when no answer came in time;
   *   `ABORTED` when `signal` fired; `INVALID_ARGUMENT` for a bad method, path or options; and the errors of
   *   {@link ZohoAuth.getAccessToken} (`AUTH_REQUIRED`, `UNTRUSTED_ENDPOINT`, …).
   */
  async request<T = unknown, R extends ZohoResponseType = 'json'>(
    method: string,
    path: string,
    options: ZohoRequestOptions<R>,
  ): Promise<ZohoResponseOf<R, T>> {
    const who = refOf(options);
    const read = readerOf(options.responseType);
    const verb = typeof method === 'string' ? method.toUpperCase() : '';
    if (!METHOD.test(verb))
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'method must be an HTTP method name', { field: 'method' });
    // A path, never a URL: the token must only ever go to its own API domain.
    if (typeof path !== 'string' || path.charCodeAt(0) !== 47 /* / */ || path.charCodeAt(1) === 47) {
      throw new ZohoTokenError(
        ErrorCode.INVALID_ARGUMENT,
        'path must start with a single "/" (it is appended to the API domain)',
        { field: 'path' },
      );
    }
    const target = options.query === undefined ? path : path + queryString(options.query);
    const { body, contentType, stream } = encodeBody(options.body);

    // A token in memory is taken without a round through the event loop (the common case).
    let creds =
      (options.signal === undefined ? this.auth.cachedCredentials(who) : undefined) ??
      (await this.auth.getCredentials(who, { signal: options.signal }));
    // A stored api_domain may have been tampered with: the token goes to a trusted one only.
    this.auth.checkApiDomain(creds);
    const service = options.service ?? this.#service;
    let url = (service === undefined ? creds.apiDomain : this.#serviceUrl(service, creds)) + target;
    let answer: Answer;
    try {
      answer = await this.#call(verb, url, creds, body, contentType, options, read);
    } catch (error) {
      const failure = stream?.failure();
      stream?.abandon();
      throw failure ?? error;
    }
    // Refused: whatever of a stream is not sent yet never will be. Accepted before the upload ended
    // (a server may answer early): the rest gets the time limit and the caller's signal, then is cut.
    if (stream !== undefined) {
      if (answer.status < 200 || answer.status > 299) stream.abandon();
      else stream.finishWithin(this.#timeoutMs, options.signal);
    }
    if (answer.status === 429)
      answer = await this.#rateLimited(answer, verb, path, url, creds, body, contentType, options, read);
    if (answer.status === 401) {
      const error = apiError(`${verb} ${path}`, answer, [creds.accessToken]);
      if (!TOKEN_REJECTED.has(error.apiCode ?? '')) throw error;
      try {
        await this.auth.handleUnauthorized(who, creds.accessToken, { signal: options.signal });
      } catch (cause) {
        // A refresh would not help (just refreshed): report the API's answer, with the reason.
        if (isZohoTokenError(cause, ErrorCode.THROTTLED))
          throw apiError(`${verb} ${path}`, answer, [creds.accessToken], cause);
        throw cause;
      }
      // A stream was read while it was sent: the next call goes with the new token and a new stream.
      if (stream !== undefined) {
        const what = `${verb} ${path} (${SENT_ONCE}; the token is refreshed now: call again with a new stream)`;
        throw apiError(what, answer, [creds.accessToken]);
      }
      creds = await this.auth.getCredentials(who, { signal: options.signal });
      this.auth.checkApiDomain(creds);
      url = (service === undefined ? creds.apiDomain : this.#serviceUrl(service, creds)) + target;
      answer = await this.#call(verb, url, creds, body, contentType, options, read);
      if (answer.status === 429)
        answer = await this.#rateLimited(answer, verb, path, url, creds, body, contentType, options, read);
    }
    const { status, text } = answer;
    if (status < 200 || status > 299) throw apiError(`${verb} ${path}`, answer, [creds.accessToken]);
    if (read !== readJson) return answer.value as ZohoResponseOf<R, T>;
    if (status === 204 || text.length === 0) return null as ZohoResponseOf<R, T>;
    try {
      return JSON.parse(text) as ZohoResponseOf<R, T>;
    } catch {
      throw new ZohoTokenError(
        ErrorCode.MALFORMED_RESPONSE,
        `${verb} ${path} answered HTTP ${status} with a body that is not JSON (${text.length} characters)`,
        {
          status,
        },
      );
    }
  }

  /** `request('GET', …)`. */
  get<T = unknown, R extends ZohoResponseType = 'json'>(
    path: string,
    options: ZohoRequestOptions<R>,
  ): Promise<ZohoResponseOf<R, T>> {
    return this.request<T, R>('GET', path, options);
  }

  /**
   * Every page of a list endpoint, fetched one at a time as the loop asks: the first with
   * `options.query` as given (e.g. `{ fields: [...], per_page: 200 }`), each next one with the
   * previous page's `info.next_page_token` as `page_token` (which, unlike `page`, reaches past
   * Zoho's 2000th record), or with `page + 1` when Zoho sent no token. Stops after a page whose
   * `info.more_records` is not true, or at a 204 (no records). Breaking out of the loop sends
   * nothing more.
   *
   * @example
   * for await (const page of client.pages('/crm/v8/Leads', { user, query: { fields: ['Last_Name'] } }))
   *   console.log(page.items.length, page.info?.more_records);
   * @throws {@link ZohoTokenError} as {@link request}; `MALFORMED_RESPONSE` when an answer has no
   *   array under `key`, or names the same next page token twice.
   */
  async *pages<T = Record<string, unknown>>(
    path: string,
    options: ZohoPagesOptions,
  ): AsyncGenerator<ZohoPage<T>, void, undefined> {
    const { key = 'data', ...rest } = options ?? ({} as ZohoPagesOptions);
    if (typeof key !== 'string')
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'pages key must be a string', { field: 'key' });
    const query = searchParamsOf(rest.query);
    const seen = new Set<string>();
    for (;;) {
      const body = await this.request<Record<string, unknown>>('GET', path, { ...rest, query });
      if (body === null) return; // 204: no (more) records
      const items = body[key];
      if (!Array.isArray(items)) {
        throw new ZohoTokenError(ErrorCode.MALFORMED_RESPONSE, `GET ${path} answered no "${key}" array`);
      }
      const info = typeof body.info === 'object' && body.info !== null ? (body.info as ZohoPageInfo) : undefined;
      yield { items: items as T[], info, body };
      if (info?.more_records !== true) return;
      const token = info.next_page_token;
      if (typeof token === 'string' && token !== '') {
        if (seen.has(token))
          throw new ZohoTokenError(ErrorCode.MALFORMED_RESPONSE, `GET ${path} named the same next page twice`);
        seen.add(token);
        query.delete('page');
        query.set('page_token', token);
      } else {
        const page = typeof info.page === 'number' ? info.page : Number(query.get('page') ?? '1');
        query.delete('page_token');
        query.set('page', String(page + 1));
      }
    }
  }

  /**
   * Every record of a CRM module (`GET /crm/v8/{module}`), page after page ({@link pages}). Zoho v8
   * wants `fields` in `options.query`.
   *
   * @example
   * for await (const lead of client.records('Leads', { user, query: { fields: ['Last_Name', 'Email'] } }))
   *   console.log(lead.id);
   * @throws {@link ZohoTokenError} `INVALID_ARGUMENT` for a module name that is not an API name; and as {@link pages}.
   */
  async *records<T = Record<string, unknown>>(
    module: string,
    options: Omit<ZohoPagesOptions, 'key'>,
  ): AsyncGenerator<T, void, undefined> {
    if (typeof module !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(module)) {
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'module must be a module API name such as Leads', {
        field: 'module',
      });
    }
    for await (const page of this.pages<T>(`/crm/v8/${module}`, { ...options, key: 'data' })) yield* page.items;
  }

  /**
   * The API base URL of `service` for this token: configured, else the built-in table's host in
   * the data center of the token's (already trusted) API domain. A token of a custom environment
   * (an emulator, a proxy) has no built-in hosts: UNTRUSTED_ENDPOINT, nothing is sent.
   */
  #serviceUrl(service: string, creds: AccessCredentials): string {
    const key = `${service} ${creds.apiDomain}`;
    const known = this.#serviceUrls.get(key);
    if (known !== undefined) return known;
    if (typeof service !== 'string')
      throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'service must be a service name', { field: 'service' });
    const location = dataCenterOfApiDomain(creds.apiDomain);
    const configured = this.#services.get(service);
    let url = typeof configured === 'string' ? configured : configured?.get(location ?? '');
    if (url === undefined) {
      if (service === 'crm') url = creds.apiDomain;
      else {
        zohoServiceUrl(service, 'us'); // an unknown service is INVALID_ARGUMENT, whatever the token
        if (location === undefined) {
          throw new ZohoTokenError(
            ErrorCode.UNTRUSTED_ENDPOINT,
            `Not sending an access token to service "${service}": the token's API domain ${describeOrigin(creds.apiDomain)} is no Zoho data center's, so no host of it is trusted; configure it in ZohoClient options.services`,
            { field: 'service' },
          );
        }
        url = zohoServiceUrl(service, location);
      }
    }
    if (this.#serviceUrls.size >= 1_000) this.#serviceUrls.clear();
    this.#serviceUrls.set(key, url);
    return url;
  }

  /**
   * Zoho answered 429: waits as asked (or backs off) and sends again, while within
   * `rateLimit.maxRetries` and `maxTotalWaitMs`; the caller's signal cuts a wait (ABORTED). Resolves
   * to the first other answer; throws RATE_LIMITED with the wait Zoho last asked for.
   */
  async #rateLimited(
    first: Answer,
    verb: string,
    path: string,
    url: string,
    creds: AccessCredentials,
    body: RequestBody | undefined,
    contentType: string | undefined,
    options: ZohoRequestOptions,
    read: Reader,
  ): Promise<Answer> {
    const policy = this.#rateLimit;
    const what = `${verb} ${path}`;
    let answer = first;
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      const wait = retryAfterMs(answer.headers, policy.now()) ?? policy.defaultWaitMs * 2 ** (attempt - 1);
      const giveUp =
        body instanceof ReadableStream || attempt > policy.maxRetries || waited + wait > policy.maxTotalWaitMs;
      if (diagnostics.apiThrottle.hasSubscribers) {
        // Without a query string a caller put in the path (search terms, emails).
        const call = `${verb} ${path.replace(/[?#].*$/s, '')}`;
        diagnostics.apiThrottle.publish({ call, attempt, waitMs: wait, outcome: giveUp ? 'gave-up' : 'retry' });
      }
      if (body instanceof ReadableStream) {
        throw rateLimitedError(`${what} (${SENT_ONCE})`, attempt, wait, apiError(what, answer, [creds.accessToken]));
      }
      if (giveUp) throw rateLimitedError(what, attempt, wait, apiError(what, answer, [creds.accessToken]));
      await waitOrAbort(policy, wait, options.signal, what);
      waited += wait;
      answer = await this.#call(verb, url, creds, body, contentType, options, read);
      if (answer.status !== 429) return answer;
    }
  }

  /**
   * One HTTP exchange within the time limit. A timeout or the caller's `signal` aborts the fetch
   * itself, so its connection is closed at once rather than left busy until the server answers.
   */
  #call(
    method: string,
    url: string,
    creds: AccessCredentials,
    body: RequestBody | undefined,
    contentType: string | undefined,
    options: ZohoRequestOptions,
    read: Reader,
  ): Promise<Answer> {
    const shared = this.#plainHeaders;
    if (shared !== undefined && options.headers === undefined && contentType === undefined) {
      let plain = shared.get(creds);
      if (plain === undefined) {
        plain = { accept: 'application/json', authorization: `Zoho-oauthtoken ${creds.accessToken}` };
        shared.set(creds, plain);
      }
      return this.#send(method, url, creds, plain, body, options, read);
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.headers !== undefined) {
      for (const name of Object.keys(options.headers))
        if (name.toLowerCase() !== 'authorization') headers[name] = options.headers[name]!;
    }
    headers.authorization = `Zoho-oauthtoken ${creds.accessToken}`;
    // FormData and URLSearchParams carry their own type (and multipart boundary): fetch sets it.
    if (contentType !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type'))
      headers['content-type'] = contentType;
    return this.#send(method, url, creds, headers, body, options, read);
  }

  #send(
    method: string,
    url: string,
    creds: AccessCredentials,
    headers: Record<string, string>,
    body: RequestBody | undefined,
    options: ZohoRequestOptions,
    read: Reader,
  ): Promise<Answer> {
    return httpExchange(
      { method, url, headers, body, secrets: [creds.accessToken] },
      {
        fetch: this.#fetch,
        timeoutMs: this.#timeoutMs,
        signal: options.signal,
        bodyOutlivesRead: read === readStream || read === readResponse,
        // undici does not time the upload itself (nor a source that stalls): our timer bounds the whole exchange.
        dispatcher: body instanceof ReadableStream ? undefined : this.#dispatcher,
      },
      read,
    );
  }
}

/** One answer: status, headers and body text (non-2xx, or json), or the value a 2xx resolves to. */
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  /** The body text: always for a non-2xx answer (Zoho's error JSON) and for `'json'`. */
  readonly text: string;
  /** For `'bytes'`, `'stream'`, `'response'`: what a 2xx resolves to. */
  readonly value?: unknown;
}

type Reader = (response: Response) => Promise<Answer>;

/** The common path: status, headers and text, nothing else allocated. */
async function readJson(response: Response): Promise<Answer> {
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function readBytes(response: Response): Promise<Answer> {
  if (!response.ok) return readJson(response);
  const { status, headers } = response;
  const body = new Uint8Array(await response.arrayBuffer());
  return { status, headers, text: '', value: { status, headers, body } };
}

async function readStream(response: Response): Promise<Answer> {
  if (!response.ok) return readJson(response);
  const { status, headers } = response;
  const body = response.body ?? new Blob([]).stream();
  return { status, headers, text: '', value: { status, headers, body } };
}

async function readResponse(response: Response): Promise<Answer> {
  if (!response.ok) return readJson(response);
  return { status: response.status, headers: response.headers, text: '', value: response };
}

function readerOf(type: unknown): Reader {
  switch (type) {
    case undefined:
    case 'json':
      return readJson;
    case 'bytes':
      return readBytes;
    case 'stream':
      return readStream;
    case 'response':
      return readResponse;
    default:
      throw new ZohoTokenError(
        ErrorCode.INVALID_ARGUMENT,
        "responseType must be 'json', 'bytes', 'stream' or 'response'",
        { field: 'responseType' },
      );
  }
}

type RequestBody = NonNullable<HttpExchangeRequest['body']>;

/**
 * The body as fetch sends it, the content type to set when the caller names none, and for a stream
 * what was read of it.
 */
function encodeBody(value: unknown): {
  body: RequestBody | undefined;
  contentType: string | undefined;
  stream?: StreamBody;
} {
  if (value === undefined) return { body: undefined, contentType: undefined };
  if (typeof value === 'string') return { body: value, contentType: 'application/json' };
  if (value instanceof FormData || value instanceof URLSearchParams) return { body: value, contentType: undefined };
  if (value instanceof Blob)
    return { body: value, contentType: value.type === '' ? 'application/octet-stream' : undefined };
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return { body: value, contentType: 'application/octet-stream' };
  }
  if (isStreamSource(value)) {
    const stream = streamBody(value);
    return { body: stream.stream, contentType: 'application/octet-stream', stream };
  }
  if (isLegacyStream(value)) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      'body: an old-style stream (no async iteration) cannot be sent; wrap it with Readable.from() or pass a Blob',
      { field: 'body' },
    );
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'body: an object that is not JSON (e.g. circular)', {
      field: 'body',
      cause: sanitizeCause(error, []),
    });
  }
  // A function or symbol has no JSON at all: it would go out as no body.
  if (json === undefined)
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'body: a value with no JSON form (a function, a symbol)', {
      field: 'body',
    });
  return { body: json, contentType: 'application/json' };
}

/** `options` itself names the token (no allocation on the hot path); exactly one of user, id, token. */
function refOf(options: ZohoRequestOptions): TokenRef {
  if (typeof options !== 'object' || options === null) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'request options must name the user, id or token', {
      field: 'options',
    });
  }
  const { user, id, token } = options;
  const given = (user === undefined ? 0 : 1) + (id === undefined ? 0 : 1) + (token === undefined ? 0 : 1);
  if (given !== 1) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'request options must name exactly one of user, id, token', {
      field: 'user',
    });
  }
  return token ?? (options as TokenRef);
}

/** Validates `options.services`: http(s) base URLs without credentials, query or fragment. */
function configuredServices(
  value: ZohoClientOptions['services'],
): ReadonlyMap<string, string | ReadonlyMap<string, string>> {
  const out = new Map<string, string | ReadonlyMap<string, string>>();
  if (value === undefined) return out;
  const invalid = (field: string, message: string): ZohoTokenError =>
    new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `ZohoClient options.${field} ${message}`, { field });
  if (typeof value !== 'object' || value === null) throw invalid('services', 'must be an object');
  const baseUrl = (field: string, raw: unknown): string => {
    const url = plainHttpUrl(raw);
    if (url === undefined) throw invalid(field, 'must be an http(s) base URL such as https://desk.zoho.eu');
    return url.href.replace(/\/+$/, '');
  };
  for (const [name, entry] of Object.entries(value)) {
    if (typeof entry === 'string') out.set(name, baseUrl(`services.${name}`, entry));
    else if (typeof entry === 'object' && entry !== null) {
      out.set(
        name,
        new Map(Object.entries(entry).map(([dc, url]) => [dc, baseUrl(`services.${name}.${dc}`, url)] as const)),
      );
    } else throw invalid(`services.${name}`, 'must be a base URL or an object of them by data center');
  }
  return out;
}

function searchParamsOf(query: ZohoRequestOptions['query']): URLSearchParams {
  if (query instanceof URLSearchParams) return new URLSearchParams(query);
  const params = new URLSearchParams();
  if (query === undefined) return params;
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined) continue;
    params.append(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  return params;
}

function queryString(query: NonNullable<ZohoRequestOptions['query']>): string {
  const text = (query instanceof URLSearchParams ? query : searchParamsOf(query)).toString();
  return text.length === 0 ? '' : `?${text}`;
}
