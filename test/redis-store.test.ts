import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { ErrorCode, OAuthToken, ZohoTokenError, isZohoTokenError } from 'zoho-token-store';
import { RedisStore } from 'zoho-token-store/redis';
import { describeStoreLock, describeTokenStore } from 'zoho-token-store/testing';
import { saveInChild } from './helpers/saver.js';
import { REDIS, skipUnlessReachable } from './helpers/services.js';
import { deleteKeysUnder, keysUnder } from './helpers/redis-keys.js';

const URL = `redis://${REDIS.host}:${REDIS.port}`;
// Every key these tests write starts with BASE; `after` deletes exactly those keys.
const BASE = `zts-test:${process.pid}:`;
let n = 0;
const freshPrefix = (): string => `${BASE}${++n}:`;
const sha = (value: string): string => createHash('sha256').update(value).digest('hex');
const token = (i: number, extra: object = {}): OAuthToken =>
  new OAuthToken({
    clientId: 'client-1',
    clientSecret: `client-secret-${i}-${n}`,
    refreshToken: `refresh-secret-${i}-${n}`,
    accessToken: `access-secret-${i}-${n}`,
    userSignature: `user-${i}-${n}@example.com`,
    expiresAt: i,
    ...extra,
  });

/** Asserts a STORE_ERROR that shows none of the secrets anywhere a log could pick it up. */
function assertSafeStoreError(error: unknown, secrets: string[]): true {
  assert.ok(isZohoTokenError(error, ErrorCode.STORE_ERROR), `expected STORE_ERROR, got ${inspect(error)}`);
  const cause = error.cause as Error | undefined;
  const shown = [
    error.message,
    String(cause),
    JSON.stringify(error),
    inspect(error, { depth: 10 }),
    cause?.stack ?? '',
    JSON.stringify(cause),
  ].join('\n');
  for (const secret of secrets) assert.ok(!shown.includes(secret), `the error shows ${secret}`);
  return true;
}

describe('RedisStore', { skip: await skipUnlessReachable(REDIS) }, () => {
  const admin = new Redis(URL, { lazyConnect: true });
  const shared = new Redis(URL, { lazyConnect: true });

  after(async () => {
    await deleteKeysUnder(admin, BASE);
    await admin.quit();
    await shared.quit();
  });

  const keysOf = async (prefix: string): Promise<string[]> =>
    (await keysUnder(admin, prefix)).map((key) => key.slice(prefix.length)).sort();

  describeTokenStore(
    { describe, it },
    {
      name: 'RedisStore (url)',
      create: () => new RedisStore({ url: URL, prefix: freshPrefix() }),
      reopen: (store) => new RedisStore({ url: URL, prefix: (store as RedisStore).prefix }),
      injected: () => {
        const mine = new Redis(URL);
        return {
          store: new RedisStore({ client: mine, prefix: freshPrefix() }),
          stillOpen: async () => assert.equal(await mine.ping(), 'PONG'),
          dispose: () => mine.quit(),
        };
      },
    },
  );

  describeTokenStore(
    { describe, it },
    {
      name: 'RedisStore (shared client)',
      create: () => new RedisStore({ client: shared, prefix: freshPrefix() }),
      reopen: (store) => new RedisStore({ client: shared, prefix: (store as RedisStore).prefix }),
    },
  );

  describeStoreLock(
    { describe, it },
    {
      name: 'RedisStore (two clients, one prefix)',
      notifies: true,
      createPair: async (pair) => {
        const prefix = freshPrefix();
        return [new RedisStore({ url: URL, prefix, ...pair }), new RedisStore({ url: URL, prefix, ...pair })];
      },
    },
  );

  describe('RedisStore specifics', () => {
    it('stores a hash per token, hashed index keys, the id set and the id counter', async () => {
      const p = freshPrefix();
      const store = new RedisStore({ client: shared, prefix: p });
      const t = new OAuthToken({
        userSignature: 'Ann@example.com',
        clientId: 'cid',
        clientSecret: 'csecret',
        refreshToken: 'r-1',
        accessToken: 'a-1',
        grantToken: 'g-1',
        expiresAt: 1_700_000_000_123,
        redirectUrl: 'https://app.example.com/cb',
        apiDomain: 'https://www.zohoapis.eu',
      });
      await store.saveToken(t);
      assert.equal(t.id, '1');
      const { revision, ...hash } = await admin.hgetall(`${p}token:1`);
      assert.match(String(revision), /^\d+$/);
      assert.deepEqual(hash, {
        id: '1',
        user_name: 'Ann@example.com',
        client_id: 'cid',
        client_secret: 'csecret',
        refresh_token: 'r-1',
        access_token: 'a-1',
        grant_token: 'g-1',
        expiry_time: '1700000000123',
        redirect_url: 'https://app.example.com/cb',
        api_domain: 'https://www.zohoapis.eu',
      });
      assert.equal(await admin.get(`${p}idx:refresh:${sha('r-1')}`), '1');
      assert.equal(await admin.get(`${p}idx:grant:${sha('g-1')}`), '1');
      assert.deepEqual(await admin.smembers(`${p}idx:access:${sha('a-1')}`), ['1']);
      assert.deepEqual(await admin.smembers(`${p}idx:user:${sha('Ann@example.com')}`), ['1']);
      assert.deepEqual(await admin.smembers(`${p}ids`), ['1']);
      assert.equal(await admin.get(`${p}last-id`), '1');
      assert.deepEqual(
        await keysOf(p),
        [
          `idx:access:${sha('a-1')}`,
          `idx:grant:${sha('g-1')}`,
          `idx:refresh:${sha('r-1')}`,
          `idx:user:${sha('Ann@example.com')}`,
          'ids',
          'last-id',
          'revision',
          'token:1',
        ].sort(),
      );

      // An update moves the index entries: the old refresh token and the cleared access token free their keys.
      await store.saveToken(
        new OAuthToken({
          id: '1',
          clientId: 'cid',
          clientSecret: 'csecret',
          refreshToken: 'r-2',
          accessToken: null,
          grantToken: null,
        }),
      );
      assert.deepEqual(
        await keysOf(p),
        [
          `idx:refresh:${sha('r-2')}`,
          `idx:user:${sha('Ann@example.com')}`,
          'ids',
          'last-id',
          'revision',
          'token:1',
        ].sort(),
      );
      assert.equal(await admin.hget(`${p}token:1`, 'refresh_token'), 'r-2');
      assert.equal(await admin.hexists(`${p}token:1`, 'access_token'), 0);
      assert.notEqual(await admin.hget(`${p}token:1`, 'revision'), revision);

      // A delete leaves only the counters: ids are never handed out again.
      await store.deleteToken('1');
      assert.deepEqual(await keysOf(p), ['last-id', 'revision']);
      await store.close();
    });

    it('an explicit higher id raises the counter; deleteTokens keeps it', async () => {
      const p = freshPrefix();
      const store = new RedisStore({ client: shared, prefix: p });
      await store.saveToken(token(1));
      await store.saveToken(token(2, { id: '500' }));
      assert.equal(await admin.get(`${p}last-id`), '500');
      const next = token(3);
      await store.saveToken(next);
      assert.equal(next.id, '501');
      await store.saveToken(token(4, { id: '7' }));
      assert.equal(await admin.get(`${p}last-id`), '501');
      await store.deleteTokens();
      assert.deepEqual(await keysOf(p), ['last-id', 'revision']);
      const after = token(5);
      await store.saveToken(after);
      assert.equal(after.id, '502');
      await store.close();
    });

    it('never runs KEYS: lookups go through index keys and the id set', async () => {
      const stat = async (command: string): Promise<number> => {
        const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(await admin.info('commandstats'));
        return match ? Number(match[1]) : 0;
      };
      const before = await stat('keys');
      const store = new RedisStore({ url: URL, prefix: freshPrefix() });
      const tokens = Array.from({ length: 20 }, (_, i) => token(i));
      for (const t of tokens) await store.saveToken(t);
      await store.findToken(
        new OAuthToken({ clientId: 'client-1', clientSecret: 'x', refreshToken: tokens[3]!.refreshToken }),
      );
      await store.findToken(new OAuthToken({ accessToken: tokens[4]!.accessToken }));
      await store.findToken(new OAuthToken({ userSignature: tokens[5]!.userSignature }));
      assert.equal((await store.getTokens()).length, 20);
      await store.deleteToken(tokens[0]!.id!);
      const held = await store.lock.acquire('refresh:1', { leaseMs: 1000, waitMs: 0 });
      await held?.release();
      await store.deleteTokens();
      await store.close();
      assert.equal(await stat('keys'), before);
    });

    // A client the caller gave is never closed: the conformance kit's `injected` test, above.
    it('quits the client it created', async () => {
      const own = new RedisStore({ url: URL, prefix: freshPrefix() });
      await own.getTokens();
      await own.close();
      assert.equal((own.client as unknown as Redis).status, 'end');
      await assert.rejects(own.lock.acquire('x', { leaseMs: 10, waitMs: 0 }), { code: ErrorCode.STORE_CLOSED });
    });

    it('validates its options without echoing a URL', () => {
      for (const prefix of [
        '',
        'a b',
        'tab\there',
        'nl\n',
        'nul\u0000',
        'star*',
        'q?',
        '[x]',
        'back\\slash',
        'é',
        'x'.repeat(101),
      ]) {
        assert.throws(
          () => new RedisStore({ client: shared, prefix }),
          { code: ErrorCode.INVALID_ARGUMENT, field: 'prefix' },
          JSON.stringify(prefix),
        );
      }
      assert.equal(new RedisStore({ client: shared, prefix: 'x'.repeat(100) }).prefix.length, 100);
      assert.equal(new RedisStore({ client: shared }).prefix, 'zoho-token-store:');
      for (const timeoutMs of [0, -1, 1.5, Number.NaN]) {
        assert.throws(() => new RedisStore({ client: shared, timeoutMs }), {
          code: ErrorCode.INVALID_ARGUMENT,
          field: 'timeoutMs',
        });
      }
      assert.throws(() => new RedisStore({ url: URL, client: shared }), { code: ErrorCode.INVALID_ARGUMENT });
      assert.throws(() => new RedisStore({ client: {} as never }), {
        code: ErrorCode.INVALID_ARGUMENT,
        field: 'client',
      });
      assert.throws(
        () => new RedisStore({ url: 'http://user:hunter2-password@127.0.0.1:6379' }),
        (error: unknown) => isZohoTokenError(error, ErrorCode.INVALID_ARGUMENT) && !inspect(error).includes('hunter2'),
      );
      const prefixed = new Redis(URL, { keyPrefix: 'app:', lazyConnect: true });
      assert.throws(() => new RedisStore({ client: prefixed }), { code: ErrorCode.INVALID_ARGUMENT, field: 'client' });
      prefixed.disconnect();
    });

    it('4 processes saving 50 tokens each at once get 200 distinct ids, and one shared user stays one record', async () => {
      const p = freshPrefix();
      const saver = (tag: string, count: number, sharedUser = ''): Promise<string[]> =>
        saveInChild({ kind: 'redis', url: URL, prefix: p }, tag, count, sharedUser);
      const ids = (await Promise.all(['p1', 'p2', 'p3', 'p4'].map((tag) => saver(tag, 50)))).flat();
      assert.equal(ids.length, 200);
      assert.equal(new Set(ids).size, 200);
      for (const id of ids) assert.match(id, /^\d{1,10}$/);
      await Promise.all(['q1', 'q2', 'q3'].map((tag) => saver(tag, 10, 'shared@example.com')));
      const store = new RedisStore({ client: shared, prefix: p });
      const tokens = await store.getTokens();
      assert.equal(tokens.length, 201);
      assert.equal(tokens.filter((t) => t.userName === 'shared@example.com').length, 1);
      // Every token is reachable through its index keys, and no index entry points at a missing token.
      for (const t of tokens) {
        const found = await store.findToken(
          new OAuthToken({ clientId: 'client-1', clientSecret: 'secret-1', refreshToken: t.refreshToken }),
        );
        assert.equal(found?.id, t.id);
      }
      assert.equal((await keysOf(p)).filter((k) => k.startsWith('idx:refresh:')).length, 201);
      await store.close();
    });

    it('never shows the server password in inspect or JSON of the store', async () => {
      const store = new RedisStore({
        url: 'redis://default:hunter2-secret-pw@127.0.0.1:6379/0',
        prefix: freshPrefix(),
      });
      const shown = `${inspect(store, { depth: 10, showHidden: true })} ${JSON.stringify(store)} ${String(store)}`;
      assert.ok(!shown.includes('hunter2-secret-pw'), shown);
      assert.match(shown, /RedisStore/);
      await store.close().catch(() => undefined);
    });

    it('lock: a lease is a PX expiry on one key, deleted on release', async () => {
      const p = freshPrefix();
      const store = new RedisStore({ url: URL, prefix: p });
      const held = await store.lock.acquire('refresh:1', { leaseMs: 60_000, waitMs: 0 });
      assert.ok(held);
      const ttl = await admin.pttl(`${p}lock:refresh:1`);
      assert.ok(ttl > 59_000 && ttl <= 60_000, `PX lease, got ${ttl}`);
      await held.release();
      await held.release();
      assert.equal(await admin.exists(`${p}lock:refresh:1`), 0);
      await store.close();
    });

    const killCases: [string, () => { store: RedisStore; done(): Promise<void> }][] = [
      [
        'its own client (commands re-sent after the reconnect)',
        () => {
          const store = new RedisStore({ url: URL, prefix: freshPrefix(), timeoutMs: 3000 });
          return { store, done: () => store.close() };
        },
      ],
      [
        'a client that does not re-send (in-flight commands fail)',
        () => {
          // ioredis never settles the commands it does not re-send: the store's timeoutMs must end them.
          const client = new Redis(URL, { autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 1 });
          client.on('error', () => {});
          const store = new RedisStore({ client, prefix: freshPrefix(), timeoutMs: 1000 });
          return { store, done: async () => void (await store.close(), await client.quit()) };
        },
      ],
    ];
    for (const [label, open] of killCases) {
      it(`a connection killed mid-operation gives success or a typed error, never a silent loss, then works again: ${label}`, async () => {
        const { store, done } = open();
        await store.saveToken(token(0));
        const connectionId = await store.client.call('CLIENT', ['ID']);
        const tokens = Array.from({ length: 40 }, (_, i) => token(i + 1));
        const saves = tokens.map((t) => store.saveToken(t));
        await admin.client('KILL', 'ID', String(connectionId));
        const results = await Promise.allSettled(saves);
        for (const [i, result] of results.entries()) {
          const t = tokens[i]!;
          if (result.status === 'fulfilled') {
            const stored = await store.findTokenById(t.id!);
            assert.equal(stored?.refreshToken, t.refreshToken, 'an acknowledged save is stored');
          } else {
            assertSafeStoreError(result.reason, [t.refreshToken!, t.accessToken!, t.clientSecret!]);
          }
        }
        // Whatever landed, landed once, even when a save's script ran twice.
        const stored = await store.getTokens();
        assert.equal(new Set(stored.map((t) => t.refreshToken)).size, stored.length);
        // Killed while idle: the next calls reconnect.
        await admin.client('KILL', 'ID', String(await store.client.call('CLIENT', ['ID'])));
        const later = token(99);
        await store.saveToken(later).catch(() => store.saveToken(later));
        assert.equal((await store.findTokenById(later.id!))?.accessToken, later.accessToken);
        await done();
      });
    }

    it('an unreachable server is a typed error in bounded time, and close does not hang', async () => {
      const store = new RedisStore({ url: 'redis://127.0.0.1:1', prefix: freshPrefix(), timeoutMs: 1000 });
      const started = Date.now();
      const t = token(1);
      await assert.rejects(store.saveToken(t), (error: unknown) =>
        assertSafeStoreError(error, [t.refreshToken!, t.clientSecret!]),
      );
      await assert.rejects(store.getTokens(), { code: ErrorCode.STORE_ERROR });
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      await store.close();
    });

    it('a server that never answers is a typed error within timeoutMs, even on a client without timeouts', async () => {
      const sockets = new Set<Socket>();
      const silent = createServer((socket) => void sockets.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as { port: number };
      const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null, enableReadyCheck: false });
      client.on('error', () => {});
      const store = new RedisStore({ client, prefix: freshPrefix(), timeoutMs: 300 });
      const started = Date.now();
      await assert.rejects(store.findTokenById('1'), { code: ErrorCode.STORE_ERROR });
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
      await store.close();
      client.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    it('a failing write is a STORE_ERROR without secrets, and nothing is half-written', async () => {
      const p = freshPrefix();
      const store = new RedisStore({ client: shared, prefix: p });
      await admin.set(`${p}ids`, 'not a set');
      const t = token(1);
      await assert.rejects(store.saveToken(t), (error: unknown) =>
        assertSafeStoreError(error, [t.refreshToken!, t.accessToken!, t.clientSecret!]),
      );
      assert.deepEqual(
        (await keysOf(p)).filter((k) => k !== 'last-id'),
        ['ids'],
      );
      await store.close();
    });

    it('a corrupt record is a typed error naming the record', async () => {
      const p = freshPrefix();
      const store = new RedisStore({ client: shared, prefix: p });
      await admin.hset(`${p}token:5`, { id: '5', access_token: 'a', expiry_time: 'soon' });
      await admin.sadd(`${p}ids`, '5');
      await assert.rejects(store.findTokenById('5'), (error: unknown) => {
        assert.ok(error instanceof ZohoTokenError);
        assert.equal(error.code, ErrorCode.CORRUPT_RECORD);
        assert.match(error.message, /"5"/);
        return true;
      });
      await assert.rejects(store.getTokens(), { code: ErrorCode.CORRUPT_RECORD });
      await store.close();
    });
  });
});
