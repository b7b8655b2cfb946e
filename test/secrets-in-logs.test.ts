import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { format, inspect } from 'node:util';
import { ErrorCode, OAuthToken, ZohoClient, ZohoTokenError, redactingLogger, type Logger } from 'zoho-token-store';
import { refreshLockName } from 'zoho-token-store/kit';
import { CLIENT, HOUR, SCOPES, authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';
import { POSTGRES, skipUnlessReachable } from './helpers/services.js';

const USER = 'ada.lovelace@example.com';
const WRONG_SECRET = 'wr0ng5ecretwr0ng5ecretwr0ng5ecret00000000';

/** Every secret that crossed the wire, read from the requests and token responses themselves. */
function recordingFetch(secrets: Set<string>): typeof fetch {
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value.length > 0) secrets.add(value);
  };
  return async (input, init) => {
    const form = new URLSearchParams(typeof init?.body === 'string' ? init.body : '');
    for (const field of ['client_secret', 'code', 'refresh_token', 'token']) add(form.get(field));
    add(new Headers(init?.headers).get('authorization')?.replace(/^Zoho-oauthtoken /, ''));
    const response = await fetch(input, init);
    const text = await response.clone().text();
    try {
      const body = JSON.parse(text) as Record<string, unknown>;
      add(body.access_token);
      add(body.refresh_token);
    } catch {
      // not JSON
    }
    return response;
  };
}

test('a whole lifecycle with faults at the most verbose level logs and throws no secret', async () => {
  const emu = await emulator({ dataCenters: ['us', 'eu'] });
  const store = sqliteStore();
  const secrets = new Set<string>([CLIENT.clientSecret, WRONG_SECRET]);
  const lines: unknown[][] = [];
  const capture =
    (level: string) =>
    (...args: unknown[]) =>
      void lines.push([level, ...args]);
  const logger: Logger = {
    debug: capture('debug'),
    info: capture('info'),
    warn: capture('warn'),
    error: capture('error'),
  };
  const errors: unknown[] = [];
  const expectError = async (promise: Promise<unknown>, code: string): Promise<void> => {
    await assert.rejects(promise, (error: unknown) => {
      errors.push(error);
      return error instanceof ZohoTokenError && error.code === code;
    });
  };
  const fetchAll = recordingFetch(secrets);
  const hooks = {
    onTokenSaved: async () => {
      throw new Error(`hook failed while holding ${CLIENT.clientSecret}`);
    },
  };
  const auth = authFor(emu, store, {
    logger,
    fetch: fetchAll,
    retries: 1,
    hooks,
    environments: [emu.environmentFor('eu')],
  });
  const client = new ZohoClient({ auth, fetch: fetchAll });

  // Logins: web flow, Self Client, failures.
  const callback = await emu.approve(auth.authorizationUrl({ scopes: SCOPES, state: 'st' }), { user: USER });
  secrets.add(new URL(callback).searchParams.get('code')!);
  await auth.exchangeCallback(callback, { state: 'st' });
  await auth.exchangeCallback(callback, { state: 'st' }); // already exchanged: from the store
  const grace = await login(emu, auth, 'grace@example.com');
  await expectError(auth.exchangeGrantToken(`1000.${'a'.repeat(32)}.${'b'.repeat(32)}`), ErrorCode.INVALID_GRANT);
  secrets.add(`1000.${'a'.repeat(32)}.${'b'.repeat(32)}`);
  const code = await emu.createGrantCode({ clientId: CLIENT.clientId, user: 'linus@example.com', scopes: SCOPES });
  secrets.add(code);
  await expectError(
    authFor(emu, store, { logger, fetch: fetchAll, clientSecret: WRONG_SECRET }).exchangeGrantToken(code),
    ErrorCode.INVALID_CLIENT_SECRET,
  );
  await expectError(auth.exchangeGrantToken(code, { location: 'eu' }), ErrorCode.INVALID_CLIENT);

  // API calls, refreshes through faults, a 401 retry.
  await client.get('/crm/v8/users', { user: USER, query: { type: 'CurrentUser' } });
  emu.clock.advance(HOUR - 60_000);
  emu.faults.inject({ kind: 'reset', target: 'token', times: 1 }); // retried, then succeeds
  await auth.getAccessToken({ user: USER });
  emu.clock.advance(HOUR - 60_000);
  emu.faults.inject({ kind: 'status', status: 503, target: 'token', times: 2 });
  await auth.getAccessToken({ user: USER }); // fails, the still-valid token is used (warn)
  emu.clock.advance(120_000);
  for (const kind of ['malformed', 'throttle'] as const) {
    emu.clock.advance(60_000); // past the cool-down of the previous failed refresh
    emu.faults.inject({ kind, target: 'token', times: 1 });
    await expectError(
      auth.getAccessToken({ user: USER }),
      kind === 'throttle' ? ErrorCode.THROTTLED : ErrorCode.MALFORMED_RESPONSE,
    );
  }
  emu.clock.advance(60_000);
  await auth.getAccessToken({ user: USER });
  emu.expireAccessTokens();
  await client.get('/crm/v8/org', { user: USER });
  emu.faults.inject({ kind: 'reset', target: 'api', times: 1 });
  await expectError(client.get('/crm/v8/org', { user: USER }), ErrorCode.NETWORK);
  await expectError(client.get('/crm/v8/Unicorns', { user: USER }), ErrorCode.API_ERROR);
  // A wrong API domain: forced refresh once, then the loop guard.
  await store.saveToken(new OAuthToken({ id: grace.id!, apiDomain: emu.environmentFor('eu').apiDomain }));
  const misrouted = new ZohoClient({
    auth: authFor(emu, store, { logger, fetch: fetchAll, environments: [emu.environmentFor('eu')] }),
    fetch: fetchAll,
  });
  await expectError(misrouted.get('/crm/v8/org', { user: 'grace@example.com' }), ErrorCode.API_ERROR);
  await expectError(misrouted.get('/crm/v8/org', { user: 'grace@example.com' }), ErrorCode.API_ERROR);

  // A lock held elsewhere, a dead refresh token, revocations.
  const held = await store.lock.acquire(refreshLockName(grace.id!), { leaseMs: 60_000, waitMs: 0 });
  emu.clock.advance(HOUR);
  await expectError(
    authFor(emu, store, { logger, fetch: fetchAll, lockWaitMs: 50 }).getAccessToken({ user: 'grace@example.com' }),
    ErrorCode.LOCK_TIMEOUT,
  );
  await held?.release();
  emu.revokeAll();
  await expectError(auth.getAccessToken({ user: USER }), ErrorCode.AUTH_REQUIRED);
  await login(emu, auth, USER);
  emu.faults.inject({ kind: 'reset', target: 'revoke', times: 2 });
  await expectError(auth.revoke({ user: USER }), ErrorCode.NETWORK);
  await auth.revoke({ user: USER });
  await expectError(auth.getAccessToken({ user: USER }), ErrorCode.AUTH_REQUIRED);
  await auth.logoutAll();

  // Everything that could leak: each log call as console and pino would render it, each error in every form.
  const texts = [
    ...lines.map((args) => `${format(...args)}\n${JSON.stringify(args)}\n${inspect(args, { depth: Infinity })}`),
    ...errors.map((error) => {
      const e = error as ZohoTokenError;
      const causes = [];
      for (let c: unknown = e.cause; c instanceof Error; c = c.cause) causes.push(`${c.message}\n${c.stack}`);
      return [
        e.message,
        e.stack,
        causes.join('\n'),
        JSON.stringify(e),
        inspect(e, { depth: Infinity }),
        inspect(e, { depth: Infinity, showHidden: true }),
      ].join('\n');
    }),
  ];
  assert.ok(secrets.size >= 15, `the lifecycle used ${secrets.size} secrets`);
  assert.ok(lines.length >= 30, `only ${lines.length} log lines`);
  assert.ok(errors.length >= 12, `only ${errors.length} errors`);
  for (const level of ['debug', 'info', 'warn', 'error'])
    assert.ok(
      lines.some(([l]) => l === level),
      `no ${level} line`,
    );
  assert.ok(
    texts.some((t) => t.includes('access token refreshed and saved') && t.includes('[redacted #')),
    'logs show redacted fingerprints',
  );
  const leaks = [...secrets].flatMap((secret) =>
    texts.filter((t) => t.includes(secret)).map((t) => `${redact8(secret)} in: ${t.slice(0, 300)}`),
  );
  assert.deepEqual(leaks, []);
  // Nor a part of one: a redacted client secret once kept its first 4 characters.
  const partial = [...secrets].flatMap((secret) =>
    texts
      .filter((t) => t.includes(`${secret.slice(0, 4)}…`))
      .map((t) => `${redact8(secret)} in part in: ${t.slice(0, 300)}`),
  );
  assert.deepEqual(partial, []);
});

test(
  'driver errors that echo secrets (a PostgreSQL trigger raising the row) reach no log and no error',
  { skip: await skipUnlessReachable(POSTGRES) },
  async () => {
    const pg = (await import('pg')).default;
    const { PostgresStore } = await import('zoho-token-store/postgres');
    const table = `leak_${process.pid}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ host: POSTGRES.host, port: POSTGRES.port, user: 'postgres', database: 'test' });
    await admin.connect();
    const store = new PostgresStore({ url: `postgres://postgres@${POSTGRES.host}:${POSTGRES.port}/test`, table });
    after(async () => {
      await store.close();
      for (const t of [table, `${table}_meta`, `${table}_lock`])
        await admin.query(`DROP TABLE IF EXISTS "${t}" CASCADE`);
      await admin.query(`DROP FUNCTION IF EXISTS "${table}_leak"()`);
      await admin.end();
    });
    const emu = await emulator();
    const secrets = new Set<string>([CLIENT.clientSecret]);
    const lines: unknown[][] = [];
    const capture =
      (level: string) =>
      (...args: unknown[]) =>
        void lines.push([level, ...args]);
    const logger: Logger = {
      debug: capture('debug'),
      info: capture('info'),
      warn: capture('warn'),
      error: capture('error'),
    };
    const auth = authFor(emu, store, { logger, fetch: recordingFetch(secrets) });
    await login(emu, auth, USER);
    // From now on every update fails with a server error that quotes the new row's secrets.
    await admin.query(
      `CREATE FUNCTION "${table}_leak"() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'row % % %', NEW.access_token, NEW.refresh_token, NEW.client_secret; END $$ LANGUAGE plpgsql`,
    );
    await admin.query(
      `CREATE TRIGGER leak BEFORE UPDATE ON "${table}" FOR EACH ROW EXECUTE FUNCTION "${table}_leak"()`,
    );
    emu.clock.advance(HOUR);
    const errors: unknown[] = [];
    await assert.rejects(auth.getAccessToken({ user: USER }), (error: unknown) => {
      errors.push(error);
      return error instanceof ZohoTokenError && error.code === ErrorCode.STORE_ERROR;
    });
    // The driver really did quote the secrets: the refreshed access token reached the server's message.
    const direct = await admin
      .query(`UPDATE "${table}" SET access_token = 'probe-value-123'`)
      .catch((error: Error) => error.message);
    assert.match(String(direct), /probe-value-123/);
    assert.equal(emu.stats().refreshRequests, 1);
    const texts = [
      ...lines.map((args) => `${format(...args)}\n${JSON.stringify(args)}\n${inspect(args, { depth: Infinity })}`),
      ...errors.map((error) => {
        const e = error as ZohoTokenError;
        return [
          e.message,
          e.stack,
          String(e.cause),
          (e.cause as Error | undefined)?.stack,
          JSON.stringify(e),
          inspect(e, { depth: Infinity, showHidden: true }),
        ].join('\n');
      }),
    ];
    assert.ok(secrets.size >= 4, `only ${secrets.size} secrets seen`);
    const leaks = [...secrets].flatMap((secret) =>
      texts.filter((t) => t.includes(secret)).map((t) => `${redact8(secret)} in: ${t.slice(0, 300)}`),
    );
    assert.deepEqual(leaks, []);
  },
);

test('the redacting wrapper scrubs what a caller logs through it', () => {
  const lines: unknown[][] = [];
  const sink = (...args: unknown[]) => void lines.push(args);
  const log = redactingLogger({ debug: sink, info: sink, warn: sink, error: sink }, ['s3cr3t-value-123']);
  const token = `1000.${'c'.repeat(32)}.${'d'.repeat(32)}`;
  const circular: Record<string, unknown> = {
    accessToken: 'plain-access',
    nested: { client_secret: 'x', note: `see ${token}` },
  };
  circular.self = circular;
  log.info(circular, 'secret is s3cr3t-value-123');
  log.warn({ err: new Error(`failed with ${token}`, { cause: new Error('s3cr3t-value-123') }) });
  log.debug(`raw ${token}`);
  log.error({
    token: new OAuthToken({
      accessToken: token,
      refreshToken: 'refresh-value-xyz',
      clientId: 'c',
      clientSecret: 's3cr3t-value-123',
    }),
  });
  const text = JSON.stringify(lines);
  for (const secret of ['plain-access', token, 's3cr3t-value-123', 'refresh-value-xyz'])
    assert.ok(!text.includes(secret), secret);
  assert.match(text, /\[circular\]/);
  assert.equal(lines.length, 4);
  // A sink that throws is ignored.
  const failing = redactingLogger({ debug: () => assert.fail('x'), info: sink, warn: sink, error: sink });
  assert.doesNotThrow(() => failing.debug('x'));
});

/** A secret-free label for a failure message. */
function redact8(secret: string): string {
  return `secret of ${secret.length} chars starting ${secret.slice(0, 5)}`;
}
