import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { ErrorCode, ZohoTokenError } from '../src/errors.js';
import type { OAuthRequestOptions } from '../src/oauth/index.js';
import {
  DataCenter,
  buildAuthorizationUrl,
  customEnvironment,
  environmentFor,
  environmentFromLocation,
  exchangeAuthorizationCode,
  parseAuthorizationCallback,
  processTokenResponse,
  refreshAccessToken,
  revokeRefreshToken,
  tokenEndpointRequest,
} from '../src/oauth/index.js';
import { backoffDelay } from '../src/oauth/http.js';

// ---------------------------------------------------------------------------------------------
// Fixtures: token-shaped secrets and a canned-answer HTTP server on 127.0.0.1.

const hex = (c: string): string => c.repeat(32);
const CLIENT_ID = '1000.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123';
const CLIENT_SECRET = `cs${hex('5')}`;
const CODE = `1000.${hex('a')}.${hex('b')}`;
const REFRESH = `1000.${hex('c')}.${hex('d')}`;
const ACCESS = `1000.${hex('e')}.${hex('f')}`;
const SECRETS = { CLIENT_SECRET, CODE, REFRESH, ACCESS };
const CLIENT = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET };
const NOW = 1_700_000_000_000;

type Reply =
  | { status?: number; body?: string | object; headers?: Record<string, string> }
  | 'reset' // destroy the socket without answering
  | 'hang'; // never answer

interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  form: URLSearchParams;
}

interface Server {
  url: string;
  requests: Received[];
}

/** Answers request n with replies[n] (the last one repeats). */
async function withServer(replies: Reply[], run: (server: Server) => Promise<void>): Promise<void> {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        contentType: req.headers['content-type'],
        form: new URLSearchParams(body),
      });
      const reply = replies[Math.min(requests.length, replies.length) - 1] ?? 'hang';
      if (reply === 'reset') return void req.socket.destroy();
      if (reply === 'hang') return;
      const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await run({ url: `http://127.0.0.1:${port}`, requests });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A port nothing listens on (freshly released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** No real waiting; records the backoff delays. */
function fastOptions(extra: OAuthRequestOptions = {}): OAuthRequestOptions & { sleeps: number[] } {
  const sleeps: number[] = [];
  return { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, now: () => NOW, sleeps, ...extra };
}

async function rejection(promise: Promise<unknown>): Promise<ZohoTokenError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ZohoTokenError, `expected a ZohoTokenError, got ${String(error)}`);
    return error;
  }
  return assert.fail('expected a rejection');
}

function thrown(fn: () => unknown): ZohoTokenError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ZohoTokenError, `expected a ZohoTokenError, got ${String(error)}`);
    return error;
  }
  return assert.fail('expected a throw');
}

function assertNoSecrets(error: ZohoTokenError): void {
  const views = [JSON.stringify(error), error.message, String(error.cause), inspect(error, { depth: 10 })];
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const view of views) assert.ok(!view.includes(secret), `${name} leaked into ${view}`);
  }
}

const tokenBody = {
  access_token: ACCESS,
  refresh_token: REFRESH,
  api_domain: 'https://www.zohoapis.eu',
  token_type: 'Bearer',
  expires_in: 3600,
};

const exchange = (url: string, options: OAuthRequestOptions = fastOptions()) =>
  exchangeAuthorizationCode(
    { accountsUrl: url },
    CLIENT,
    { code: CODE, redirectUrl: 'https://app.example/cb' },
    options,
  );
const refresh = (url: string, options: OAuthRequestOptions = fastOptions()) =>
  refreshAccessToken({ accountsUrl: url }, CLIENT, REFRESH, options);

// ---------------------------------------------------------------------------------------------

describe('token endpoint: success', () => {
  test('exchange sends the urlencoded form and returns an absolute expiry', async () => {
    await withServer([{ body: { ...tokenBody, scope: 'ZohoCRM.modules.ALL ZohoCRM.users.READ' } }], async (server) => {
      const tokens = await exchange(server.url);
      assert.deepEqual(tokens, {
        accessToken: ACCESS,
        refreshToken: REFRESH,
        apiDomain: 'https://www.zohoapis.eu',
        expiresAt: NOW + 3_600_000,
        scope: ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ'],
        tokenType: 'Bearer',
      });
      assert.equal(server.requests.length, 1);
      const [req] = server.requests;
      assert.equal(req?.method, 'POST');
      assert.equal(req?.path, '/oauth/v2/token');
      assert.equal(req?.query.toString(), '');
      assert.equal(req?.contentType, 'application/x-www-form-urlencoded');
      assert.deepEqual(Object.fromEntries(req?.form ?? []), {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_type: 'authorization_code',
        code: CODE,
        redirect_uri: 'https://app.example/cb',
      });
    });
  });

  test('exchange of a Self Client code omits redirect_uri', async () => {
    await withServer([{ body: tokenBody }], async (server) => {
      await exchangeAuthorizationCode({ accountsUrl: server.url }, CLIENT, { code: CODE }, fastOptions());
      await exchangeAuthorizationCode(
        { accountsUrl: server.url },
        CLIENT,
        { code: CODE, redirectUrl: null },
        fastOptions(),
      );
      for (const req of server.requests) assert.equal(req.form.has('redirect_uri'), false);
    });
  });

  test('refresh sends refresh_token; missing refresh token and api_domain become null', async () => {
    await withServer([{ body: { access_token: ACCESS, expires_in: 3600, token_type: 'Bearer' } }], async (server) => {
      const tokens = await refresh(server.url);
      assert.deepEqual(tokens, {
        accessToken: ACCESS,
        refreshToken: null,
        apiDomain: null,
        expiresAt: NOW + 3_600_000,
        scope: null,
        tokenType: 'Bearer',
      });
      assert.deepEqual(Object.fromEntries(server.requests[0]?.form ?? []), {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_type: 'refresh_token',
        refresh_token: REFRESH,
      });
    });
  });

  test('expires_in_sec present: expires_in is milliseconds', async () => {
    await withServer(
      [{ body: { access_token: ACCESS, expires_in_sec: 3600, expires_in: 3_600_000 } }],
      async (server) => {
        assert.equal((await refresh(server.url)).expiresAt, NOW + 3_600_000);
      },
    );
  });

  test('expiresAt uses now() when the response is processed', async () => {
    const response = new Response(JSON.stringify({ access_token: ACCESS, expires_in: 60 }), { status: 200 });
    assert.equal((await processTokenResponse(response, { now: () => 5_000 })).expiresAt, 65_000);
  });

  test('a path prefix in the accounts URL is kept', async () => {
    await withServer([{ body: tokenBody }], async (server) => {
      await refreshAccessToken(
        customEnvironment({ accountsUrl: `${server.url}/zoho/`, apiDomain: server.url }),
        CLIENT,
        REFRESH,
        fastOptions(),
      );
      assert.equal(server.requests[0]?.path, '/zoho/oauth/v2/token');
    });
  });

  test('tokenEndpointRequest returns the Response unjudged', async () => {
    await withServer([{ body: { error: 'invalid_code' } }], async (server) => {
      const response = await tokenEndpointRequest(
        { accountsUrl: server.url },
        new URLSearchParams({ grant_type: 'x' }),
        fastOptions(),
      );
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { error: 'invalid_code' });
    });
  });
});

describe('token endpoint: classification', () => {
  const cases: Array<[string, Reply, string, Partial<ZohoTokenError>?]> = [
    ['invalid_code', { body: { error: 'invalid_code' } }, ErrorCode.INVALID_GRANT, { status: 200 }],
    ['invalid_client', { body: { error: 'invalid_client' } }, ErrorCode.INVALID_CLIENT],
    ['invalid_client_secret', { body: { error: 'invalid_client_secret' } }, ErrorCode.INVALID_CLIENT_SECRET],
    ['invalid_redirect_uri', { body: { error: 'invalid_redirect_uri' } }, ErrorCode.INVALID_REDIRECT_URI],
    [
      'unsupported_grant_type',
      { body: { error: 'unsupported_grant_type' } },
      ErrorCode.OAUTH_ERROR,
      { apiCode: 'unsupported_grant_type' },
    ],
    [
      'error body with HTTP 400',
      { status: 400, body: { error: 'invalid_request' } },
      ErrorCode.OAUTH_ERROR,
      { status: 400 },
    ],
    ['HTTP 400 without JSON', { status: 400, body: 'Bad Request' }, ErrorCode.OAUTH_ERROR, { status: 400 }],
    [
      'HTTP 404 html',
      { status: 404, body: '<html>nope</html>', headers: { 'content-type': 'text/html' } },
      ErrorCode.OAUTH_ERROR,
      { status: 404 },
    ],
    ['HTTP 429', { status: 429, body: '' }, ErrorCode.THROTTLED, { retryAfterMs: 60_000, status: 429 }],
    ['non-JSON 200', { body: '<html>maintenance</html>' }, ErrorCode.MALFORMED_RESPONSE, { status: 200 }],
    ['JSON array', { body: [1, 2] }, ErrorCode.MALFORMED_RESPONSE],
    ['no access_token', { body: { expires_in: 3600 } }, ErrorCode.MALFORMED_RESPONSE],
    ['numeric access_token', { body: { access_token: 12, expires_in: 3600 } }, ErrorCode.MALFORMED_RESPONSE],
    ['non-numeric expires_in', { body: { access_token: ACCESS, expires_in: 'soon' } }, ErrorCode.MALFORMED_RESPONSE],
    ['missing expires_in', { body: { access_token: ACCESS } }, ErrorCode.MALFORMED_RESPONSE],
    [
      'non-string refresh_token',
      { body: { access_token: ACCESS, expires_in: 1, refresh_token: 5 } },
      ErrorCode.MALFORMED_RESPONSE,
    ],
    ['non-string error', { body: { error: { nested: true } } }, ErrorCode.MALFORMED_RESPONSE],
  ];
  for (const [name, reply, code, extra] of cases) {
    test(`${name} → ${code}, one request, no secrets`, async () => {
      await withServer([reply], async (server) => {
        const error = await rejection(refresh(server.url));
        assert.equal(error.code, code);
        for (const [key, value] of Object.entries(extra ?? {}))
          assert.equal(error[key as keyof ZohoTokenError], value, key);
        assert.equal(server.requests.length, 1, 'answers are never retried');
        assert.ok(error.response instanceof Response);
        assert.ok(!Object.keys(error).includes('response'));
        assertNoSecrets(error);
      });
    });
  }

  test('invalid_code says the user must log in again', async () => {
    await withServer([{ body: { error: 'invalid_code' } }], async (server) => {
      assert.match((await rejection(exchange(server.url))).message, /log in again/);
    });
  });

  test("other errors name Zoho's error string", async () => {
    await withServer([{ body: { error: 'invalid_request' } }], async (server) => {
      assert.match((await rejection(exchange(server.url))).message, /"invalid_request"/);
    });
  });

  for (const description of [
    'You have made too many requests continuously. Please try again after some time.',
    'Token creation throttle limit reached. Please reuse the valid tokens you currently have.',
  ]) {
    test(`Access Denied throttle: ${description.slice(0, 30)}…`, async () => {
      await withServer(
        [{ body: { error: 'Access Denied', error_description: description, status: 'failure' } }],
        async (server) => {
          const error = await rejection(refresh(server.url));
          assert.equal(error.code, ErrorCode.THROTTLED);
          assert.equal(error.retryAfterMs, 60_000);
          assert.equal(server.requests.length, 1);
        },
      );
    });
  }

  test('throttle matches case-insensitively and honours Retry-After and the configured default', async () => {
    await withServer([{ body: { error: 'ACCESS DENIED' }, headers: { 'retry-after': '120' } }], async (server) => {
      assert.equal((await rejection(refresh(server.url))).retryAfterMs, 120_000);
    });
    await withServer([{ body: { error: 'throttled' } }], async (server) => {
      const error = await rejection(refresh(server.url, fastOptions({ throttleRetryAfterMs: 5_000 })));
      assert.equal(error.code, ErrorCode.THROTTLED);
      assert.equal(error.retryAfterMs, 5_000);
    });
    const date = new Date(NOW + 30_000).toUTCString();
    const response = new Response('{"error":"Access Denied"}', { headers: { 'retry-after': date } });
    assert.equal((await rejection(processTokenResponse(response, { now: () => NOW }))).retryAfterMs, 30_000);
  });
});

describe('token endpoint: retries and timeouts', () => {
  test('two 5xx then success → 3 requests, full-jitter delays', async () => {
    await withServer(
      [{ status: 502, body: 'bad gateway' }, { status: 503, body: '' }, { body: tokenBody }],
      async (server) => {
        const options = fastOptions();
        assert.equal((await refresh(server.url, options)).accessToken, ACCESS);
        assert.equal(server.requests.length, 3);
        assert.deepEqual(options.sleeps, [100, 200]); // random 0.5 × 200·2^n
      },
    );
  });

  test('5xx after every retry → SERVER_ERROR with status', async () => {
    await withServer([{ status: 503, body: '<html>down</html>' }], async (server) => {
      const error = await rejection(refresh(server.url, fastOptions({ retries: 3 })));
      assert.equal(error.code, ErrorCode.SERVER_ERROR);
      assert.equal(error.status, 503);
      assert.equal(server.requests.length, 4);
    });
  });

  test('retries: 0 → one attempt', async () => {
    await withServer([{ status: 500, body: '' }], async (server) => {
      assert.equal((await rejection(refresh(server.url, fastOptions({ retries: 0 })))).code, ErrorCode.SERVER_ERROR);
      assert.equal(server.requests.length, 1);
    });
  });

  test('two connection resets then success → 3 requests', async () => {
    await withServer(['reset', 'reset', { body: tokenBody }], async (server) => {
      assert.equal((await refresh(server.url)).accessToken, ACCESS);
      assert.equal(server.requests.length, 3);
    });
  });

  test('a grant code is never sent twice: no retry after a reset, a timeout or a 5xx', async () => {
    for (const first of ['reset', 'hang', { status: 503, body: '' }] as const) {
      await withServer([first, { body: tokenBody }], async (server) => {
        const error = await rejection(exchange(server.url, fastOptions({ timeoutMs: 100 })));
        assert.equal(error.code, first === 'reset' || first === 'hang' ? ErrorCode.NETWORK : ErrorCode.SERVER_ERROR);
        assert.equal(server.requests.length, 1, `after ${JSON.stringify(first)}`);
        assertNoSecrets(error);
      });
    }
  });

  test('a grant code is retried when the connection was refused (it never left)', async () => {
    let calls = 0;
    const port = await freePort();
    await withServer([{ body: tokenBody }], async (server) => {
      // The first attempt goes to a closed port, the next to the server.
      const flaky: typeof fetch = (input, init) =>
        fetch(++calls === 1 ? `http://127.0.0.1:${port}/oauth/v2/token` : input, init);
      assert.equal((await exchange(server.url, fastOptions({ fetch: flaky }))).accessToken, ACCESS);
      assert.equal(calls, 2);
      assert.equal(server.requests.length, 1);
    });
  });

  test('resets on every attempt → NETWORK after retries + 1', async () => {
    await withServer(['reset'], async (server) => {
      const error = await rejection(refresh(server.url));
      assert.equal(error.code, ErrorCode.NETWORK);
      assert.equal(server.requests.length, 3);
      assert.match(error.message, /after 3 attempts/);
      assertNoSecrets(error);
    });
  });

  test('a server that never answers + timeoutMs 50 → NETWORK after retries + 1 attempts', async () => {
    await withServer(['hang'], async (server) => {
      const started = Date.now();
      const error = await rejection(refresh(server.url, fastOptions({ timeoutMs: 50 })));
      assert.equal(error.code, ErrorCode.NETWORK);
      assert.match(error.message, /timed out after 50 ms/);
      assert.equal(server.requests.length, 3);
      assert.ok(Date.now() - started < 5_000);
    });
  });

  test('connection refused → NETWORK, fetch called retries + 1 times', async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const port = await freePort();
    const error = await rejection(refresh(`http://127.0.0.1:${port}`, fastOptions({ fetch: counting, retries: 1 })));
    assert.equal(error.code, ErrorCode.NETWORK);
    assert.equal(calls, 2);
    assert.match(error.message, /ECONNREFUSED/);
  });

  test('caller abort stops at once without retrying', async () => {
    await withServer(['hang'], async (server) => {
      const controller = new AbortController();
      const pending = rejection(refresh(server.url, fastOptions({ signal: controller.signal })));
      // Abort once the server holds the request (a fixed delay loses that race on a loaded machine).
      while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort();
      const error = await pending;
      assert.equal(error.code, ErrorCode.ABORTED);
      assert.match(error.message, /aborted by the caller/);
      assert.equal(server.requests.length, 1);
    });
  });

  test('backoff window doubles and is capped at maxBackoffMs', () => {
    const o = { backoffMs: 200, maxBackoffMs: 1_000, random: () => 0.999 };
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((n) => backoffDelay(n, o)),
      [199, 399, 799, 999, 999],
    );
    assert.equal(backoffDelay(3, { ...o, random: () => 0 }), 0);
  });

  test('invalid arguments are refused before any request', async () => {
    assert.equal((await rejection(refresh('http://127.0.0.1:1', fastOptions({ timeoutMs: -1 })))).field, 'timeoutMs');
    // Beyond what a Node timer takes (it would fire at once).
    assert.equal(
      (await rejection(refresh('http://127.0.0.1:1', fastOptions({ timeoutMs: 2 ** 31 })))).field,
      'timeoutMs',
    );
    assert.equal((await rejection(refresh('http://127.0.0.1:1', fastOptions({ retries: 1.5 })))).field, 'retries');
    assert.equal((await rejection(refresh('ftp://accounts.zoho.com'))).field, 'accountsUrl');
    const noCode = exchangeAuthorizationCode({ accountsUrl: 'http://127.0.0.1:1' }, CLIENT, { code: '' });
    assert.equal((await rejection(noCode)).field, 'code');
    const noSecret = refreshAccessToken(
      { accountsUrl: 'http://127.0.0.1:1' },
      { clientId: CLIENT_ID, clientSecret: '' },
      REFRESH,
    );
    assert.equal((await rejection(noSecret)).field, 'clientSecret');
  });
});

describe('secrets never reach an error', () => {
  test('a fetch error quoting the request secrets is scrubbed (message, cause, inspect, JSON)', async () => {
    // An error can only quote what its request sent: each run leaks its own secrets.
    const leaky =
      (...secrets: string[]): typeof fetch =>
      async () => {
        throw new TypeError('fetch failed', { cause: new Error(`reset while sending ${secrets.join(' ')}`) });
      };
    for (const run of [
      () => exchange('http://127.0.0.1:1', fastOptions({ fetch: leaky(CLIENT_SECRET, CODE) })),
      () => refresh('http://127.0.0.1:1', fastOptions({ fetch: leaky(CLIENT_SECRET, REFRESH) })),
      () => revokeRefreshToken({ accountsUrl: 'http://127.0.0.1:1' }, REFRESH, fastOptions({ fetch: leaky(REFRESH) })),
    ]) {
      const error = await rejection(run());
      assert.equal(error.code, ErrorCode.NETWORK);
      assert.match(String(error.cause), /redacted/);
      assertNoSecrets(error);
    }
  });

  test('a server echoing the secrets in its error string is scrubbed', async () => {
    await withServer([{ body: { error: `bad ${CODE} ${CLIENT_SECRET}` } }], async (server) => {
      const error = await rejection(exchange(server.url));
      assert.equal(error.code, ErrorCode.OAUTH_ERROR);
      assertNoSecrets(error);
    });
    await withServer([{ body: { error: `bad ${REFRESH}` } }], async (server) =>
      assertNoSecrets(await rejection(refresh(server.url))),
    );
  });

  test('a malformed or non-JSON body carrying the access token is not quoted', async () => {
    await withServer([{ body: `not json ${ACCESS} ${REFRESH}` }], async (server) =>
      assertNoSecrets(await rejection(refresh(server.url))),
    );
    await withServer([{ body: { access_token: ACCESS, refresh_token: REFRESH, expires_in: 'x' } }], async (server) =>
      assertNoSecrets(await rejection(exchange(server.url))),
    );
  });
});

describe('revoke', () => {
  test('success: POST /oauth/v2/token/revoke?token=… as documented, the token in the form body too', async () => {
    await withServer([{ body: { status: 'success' } }], async (server) => {
      await revokeRefreshToken({ accountsUrl: server.url }, REFRESH, fastOptions());
      const [req] = server.requests;
      assert.equal(req?.path, '/oauth/v2/token/revoke');
      assert.equal(req?.contentType, 'application/x-www-form-urlencoded');
      assert.deepEqual(Object.fromEntries(req?.form ?? []), { token: REFRESH });
      assert.equal(req?.query.get('token'), REFRESH);
    });
  });

  test('HTTP 400 → INVALID_GRANT, not retried', async () => {
    await withServer([{ status: 400, body: { error: 'invalid_token' } }], async (server) => {
      const error = await rejection(revokeRefreshToken({ accountsUrl: server.url }, REFRESH, fastOptions()));
      assert.equal(error.code, ErrorCode.INVALID_GRANT);
      assert.equal(error.status, 400);
      assert.equal(server.requests.length, 1);
      assertNoSecrets(error);
    });
  });

  test('5xx is retried; an unconfirmed 200 is OAUTH_ERROR', async () => {
    await withServer([{ status: 503, body: '' }, { body: { status: 'success' } }], async (server) => {
      await revokeRefreshToken({ accountsUrl: server.url }, REFRESH, fastOptions());
      assert.equal(server.requests.length, 2);
    });
    await withServer([{ body: { status: 'failure' } }], async (server) => {
      assert.equal(
        (await rejection(revokeRefreshToken({ accountsUrl: server.url }, REFRESH, fastOptions()))).code,
        ErrorCode.OAUTH_ERROR,
      );
    });
  });
});

describe('authorization URL and callback', () => {
  const params = {
    clientId: CLIENT_ID,
    redirectUrl: 'https://app.example/cb?x=1',
    scopes: ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ'],
    state: 's-123',
  };

  test('defaults: offline access, prompt=consent, comma-separated scopes', () => {
    const url = buildAuthorizationUrl(DataCenter.EU.production, params);
    assert.equal(`${url.origin}${url.pathname}`, 'https://accounts.zoho.eu/oauth/v2/auth');
    assert.deepEqual(Object.fromEntries(url.searchParams), {
      response_type: 'code',
      client_id: CLIENT_ID,
      scope: 'ZohoCRM.modules.ALL,ZohoCRM.users.READ',
      redirect_uri: 'https://app.example/cb?x=1',
      access_type: 'offline',
      prompt: 'consent',
      state: 's-123',
    });
  });

  test('online access without prompt; trailing slash on accountsUrl', () => {
    const url = buildAuthorizationUrl(
      { accountsUrl: 'http://127.0.0.1:9/' },
      { ...params, accessType: 'online', prompt: null },
    );
    assert.equal(url.pathname, '/oauth/v2/auth');
    assert.equal(url.searchParams.get('access_type'), 'online');
    assert.equal(url.searchParams.has('prompt'), false);
  });

  test('invalid parameters', () => {
    assert.equal(
      thrown(() => buildAuthorizationUrl(DataCenter.US.production, { ...params, scopes: [] })).field,
      'scopes',
    );
    assert.equal(
      thrown(() => buildAuthorizationUrl(DataCenter.US.production, { ...params, scopes: ['a b'] })).field,
      'scopes',
    );
    assert.equal(
      thrown(() => buildAuthorizationUrl(DataCenter.US.production, { ...params, state: '' })).field,
      'state',
    );
  });

  const callback = (query: string): string => `https://app.example/cb?${query}`;

  test('success: code, location and accounts-server', () => {
    const url = callback(`state=s-123&code=${CODE}&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu`);
    assert.deepEqual(parseAuthorizationCallback(url, 's-123'), {
      code: CODE,
      location: 'eu',
      accountsServer: 'https://accounts.zoho.eu',
    });
    assert.deepEqual(parseAuthorizationCallback(new URL(callback(`code=${CODE}&state=s-123`)), 's-123'), {
      code: CODE,
      location: null,
      accountsServer: null,
    });
  });

  test('state mismatch or missing → INVALID_ARGUMENT (state)', () => {
    for (const query of [`state=other&code=${CODE}`, `code=${CODE}`, `state=other&error=access_denied`]) {
      const error = thrown(() => parseAuthorizationCallback(callback(query), 's-123'));
      assert.equal(error.code, ErrorCode.INVALID_ARGUMENT);
      assert.equal(error.field, 'state');
      assertNoSecrets(error);
    }
  });

  test('error=access_denied → OAUTH_ERROR, with or without state', () => {
    for (const query of ['state=s-123&error=access_denied', 'error=access_denied']) {
      const error = thrown(() => parseAuthorizationCallback(callback(query), 's-123'));
      assert.equal(error.code, ErrorCode.OAUTH_ERROR);
      assert.match(error.message, /denied consent/);
    }
    assert.match(
      thrown(() => parseAuthorizationCallback(callback('state=s-123&error=server_error'), 's-123')).message,
      /"server_error"/,
    );
  });

  test('malformed callbacks', () => {
    assert.equal(thrown(() => parseAuthorizationCallback(callback('state=s-123'), 's-123')).field, 'code');
    assert.equal(thrown(() => parseAuthorizationCallback('/cb?code=x', 's-123')).field, 'url');
    assert.equal(
      thrown(() => parseAuthorizationCallback(callback('state=s-123&code=x&accounts-server=javascript:x'), 's-123'))
        .field,
      'accountsServer',
    );
  });
});

describe('environments', () => {
  // From zoho-oauth.md: DC, location, accounts server, API domain suffix.
  const table: Array<[string, string, string, string]> = [
    ['US', 'us', 'https://accounts.zoho.com', 'com'],
    ['EU', 'eu', 'https://accounts.zoho.eu', 'eu'],
    ['IN', 'in', 'https://accounts.zoho.in', 'in'],
    ['CN', 'cn', 'https://accounts.zoho.com.cn', 'com.cn'],
    ['AU', 'au', 'https://accounts.zoho.com.au', 'com.au'],
    ['JP', 'jp', 'https://accounts.zoho.jp', 'jp'],
    ['CA', 'ca', 'https://accounts.zohocloud.ca', 'ca'],
    ['SA', 'sa', 'https://accounts.zoho.sa', 'sa'],
  ];
  const hosts = { production: 'www', sandbox: 'sandbox', developer: 'developer' } as const;

  test('8 data centers × 3 kinds', () => {
    assert.deepEqual(Object.keys(DataCenter).sort(), table.map(([dc]) => dc).sort());
    for (const [dc, location, accountsUrl, suffix] of table) {
      for (const kind of ['production', 'sandbox', 'developer'] as const) {
        const expected = {
          name: `${location}-${kind}`,
          location,
          kind,
          accountsUrl,
          apiDomain: `https://${hosts[kind]}.zohoapis.${suffix}`,
        };
        assert.deepEqual({ ...environmentFor(dc, kind) }, expected);
        assert.deepEqual({ ...environmentFor(dc.toLowerCase(), kind) }, expected);
        assert.deepEqual({ ...environmentFromLocation(location, kind) }, expected);
        assert.deepEqual({ ...environmentFromLocation(location, kind, `${accountsUrl}/`) }, expected);
        assert.ok(Object.isFrozen(environmentFor(dc, kind)));
      }
    }
    assert.equal(environmentFor('EU').name, 'eu-production');
  });

  test('unknown data center, location, kind, or a foreign accounts-server', () => {
    assert.equal(thrown(() => environmentFor('XX')).field, 'dataCenter');
    assert.equal(thrown(() => environmentFor('EU', 'staging' as 'sandbox')).field, 'kind');
    assert.equal(thrown(() => environmentFromLocation('mars')).field, 'location');
    assert.equal(
      thrown(() => environmentFromLocation('eu', 'production', 'https://evil.example')).field,
      'accountsServer',
    );
  });

  test('customEnvironment validates and normalizes URLs', () => {
    const env = customEnvironment({
      accountsUrl: 'http://127.0.0.1:8080/',
      apiDomain: 'https://API.example.com/zoho//',
    });
    assert.deepEqual(
      { ...env },
      {
        name: 'custom',
        location: 'custom',
        kind: 'custom',
        accountsUrl: 'http://127.0.0.1:8080',
        apiDomain: 'https://api.example.com/zoho',
      },
    );
    assert.ok(Object.isFrozen(env));
    const named = customEnvironment({
      accountsUrl: 'https://a.example',
      apiDomain: 'https://b.example',
      name: 'emu',
      location: 'us',
    });
    assert.equal(named.name, 'emu');
    assert.equal(named.location, 'us');
    for (const bad of [
      'ftp://a.example',
      'not a url',
      'https://a.example?x=1',
      'https://a.example#f',
      'https://u:p@a.example',
      '',
    ]) {
      assert.equal(
        thrown(() => customEnvironment({ accountsUrl: bad, apiDomain: 'https://b.example' })).field,
        'accountsUrl',
        bad,
      );
      assert.equal(
        thrown(() => customEnvironment({ accountsUrl: 'https://a.example', apiDomain: bad })).field,
        'apiDomain',
        bad,
      );
    }
    assert.equal(
      thrown(() => customEnvironment({ accountsUrl: 'https://a.example', apiDomain: 'https://b.example', name: ' ' }))
        .field,
      'name',
    );
  });
});
