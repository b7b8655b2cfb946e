import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ErrorCode, ZohoTokenError, type Logger } from 'zoho-token-store';
import { HOUR, authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';

const emu = await emulator();
after(() => emu.close());

/** A logger keeping the error entries, to see listener failures. */
function errorLog(): { logger: Logger; errors: string[] } {
  const errors: string[] = [];
  const none = (): void => undefined;
  return {
    logger: { debug: none, info: none, warn: none, error: (_obj, msg) => void errors.push(String(msg)) },
    errors,
  };
}

describe('ZohoAuth events: on / once / off', () => {
  it('several listeners, added any time, run in order after the hook; once runs once; off removes', async () => {
    const store = sqliteStore();
    const order: string[] = [];
    const auth = authFor(emu, store, {
      hooks: { onTokenRefreshed: async () => void order.push('hook') },
    });
    const user = 'events@example.com';
    const token = await login(emu, auth, user);
    const first = (): void => void order.push('first');
    const removed = (): void => void order.push('removed');
    auth
      .on('refreshed', first)
      .on('refreshed', removed)
      .once('refreshed', () => void order.push('once'));
    auth.on(
      'refreshed',
      (event) => void order.push(`second:${event.token.id}:${event.previousExpiresAt === token.expiresAt}`),
    );
    auth.off('refreshed', removed);
    emu.clock.advance(HOUR);
    await auth.getAccessToken({ user });
    emu.clock.advance(HOUR);
    await auth.getAccessToken({ user });
    assert.deepEqual(order, [
      'hook',
      'first',
      'once',
      `second:${token.id}:true`,
      'hook',
      'first',
      `second:${token.id}:false`,
    ]);
    await store.close();
  });

  it('a listener that throws or rejects is logged and ignored: the operation and the other listeners go on', async () => {
    const store = sqliteStore();
    const { logger, errors } = errorLog();
    const auth = authFor(emu, store, { logger });
    const seen: string[] = [];
    auth.on('saved', () => {
      throw new Error('sync listener failure');
    });
    auth.on('saved', () => Promise.reject(new Error('async listener failure')));
    auth.on('saved', (event) => void seen.push(event.reason));
    const token = await login(emu, auth, 'throwing@example.com');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(typeof token.accessToken, 'string');
    assert.deepEqual(seen, ['exchange']);
    assert.deepEqual(errors, ['ZohoAuth saved listener failed; ignored', 'ZohoAuth saved listener failed; ignored']);
    await store.close();
  });

  it('failed: a refresh Zoho could not serve, with the cool-down and whether the current token was served', async () => {
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const user = 'failed@example.com';
    await login(emu, auth, user);
    const failures: { code: string; cooldownMs: number; servedCurrent: boolean }[] = [];
    auth.on(
      'failed',
      (event) =>
        void failures.push({
          code: (event.error as ZohoTokenError).code,
          cooldownMs: event.cooldownMs,
          servedCurrent: event.servedCurrent,
        }),
    );
    emu.clock.advance(HOUR);
    emu.faults.inject({ kind: 'status', status: 503, target: 'token', times: 1 });
    await assert.rejects(auth.getAccessToken({ user }), (error: unknown) => error instanceof ZohoTokenError);
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.code, ErrorCode.SERVER_ERROR);
    assert.ok(failures[0]!.cooldownMs > 0, `cool-down ${failures[0]!.cooldownMs}`);
    assert.equal(failures[0]!.servedCurrent, false);
    await store.close();
  });

  it('dead and revoked', async () => {
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const events: string[] = [];
    auth.on('dead', (event) => void events.push(`dead:${event.token.userName}:${event.error.code}`));
    auth.on('revoked', (event) => void events.push(`revoked:${event.token.userName}:${event.revokedAtZoho}`));
    await login(emu, auth, 'alive@example.com');
    await auth.revoke({ user: 'alive@example.com' });
    await login(emu, auth, 'dead@example.com');
    emu.revokeAll();
    emu.clock.advance(HOUR);
    await assert.rejects(auth.getAccessToken({ user: 'dead@example.com' }), { code: ErrorCode.AUTH_REQUIRED });
    assert.deepEqual(events, ['revoked:alive@example.com:true', `dead:dead@example.com:${ErrorCode.INVALID_GRANT}`]);
    await store.close();
  });

  it('an unknown event or a listener that is not a function is INVALID_ARGUMENT', async () => {
    const store = sqliteStore();
    const auth = authFor(emu, store);
    assert.throws(() => auth.on('refresh' as 'refreshed', () => undefined), {
      code: ErrorCode.INVALID_ARGUMENT,
      message: 'ZohoAuth events: unknown event "refresh" (known: saved, refreshed, revoked, dead, failed)',
    });
    assert.throws(() => auth.on('saved', 'nope' as never), { code: ErrorCode.INVALID_ARGUMENT });
    await store.close();
  });
});

describe('ZohoAuth.getRequestHeaders', () => {
  it("Zoho's Authorization header for the user's current access token, accepted by the API", async () => {
    const store = sqliteStore();
    const auth = authFor(emu, store);
    const user = 'headers@example.com';
    await login(emu, auth, user);
    const headers = await auth.getRequestHeaders({ user });
    assert.deepEqual(headers, { Authorization: `Zoho-oauthtoken ${await auth.getAccessToken({ user })}` });
    const response = await fetch(`${emu.url}/crm/v8/users?type=CurrentUser`, { headers });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { users: { email: string }[] }).users[0]?.email, user);
    await store.close();
  });
});
