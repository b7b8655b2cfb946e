import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  ErrorCode,
  MemoryStore,
  OAuthToken,
  SqliteStore,
  isZohoTokenError,
  type OAuthTokenInit,
  type TokenStore,
} from 'zoho-token-store';
import { describeTokenStore, tokenValues } from 'zoho-token-store/testing';
import { EncryptedStore, withEncryption, type EncryptedStoreOptions } from 'zoho-token-store';
import { tempDir } from './helpers/temp.js';
import { uniqueSecretsToken } from './helpers/tokens.js';
import { openRawDefault } from './helpers/sqlite-drivers.js';

const dir = tempDir('encrypted');
let n = 0;
const freshFile = (): string => `${dir}/enc-${++n}.db`;

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const K1_TEXT = K1.toString('base64');
const K2_TEXT = K2.toString('base64');
const KEY_TEXTS = [
  K1_TEXT,
  K2_TEXT,
  K1.toString('hex'),
  K2.toString('hex'),
  K1.toString('base64url'),
  K2.toString('base64url'),
];
const ONLY_K1: EncryptedStoreOptions = { keys: { k1: K1_TEXT } };
const K2_THEN_K1: EncryptedStoreOptions = { keys: `k2:${K2_TEXT},k1:${K1_TEXT}` };
const ONLY_K2: EncryptedStoreOptions = { keys: { k2: K2 } };
const CLIENT = { clientId: '1000.ENCCLIENT', clientSecret: 'enc-client-secret-5f3a9c' };

let serial = 0;
function secretToken(extra: OAuthTokenInit = {}): OAuthToken {
  serial++;
  return uniqueSecretsToken(serial, {
    clientId: CLIENT.clientId,
    apiDomain: `https://api${serial}.zohoapis.eu`,
    accountsUrl: 'https://accounts.zoho.eu',
    redirectUrl: 'https://app.example.com/callback',
    ...extra,
  });
}

const SECRET_COLUMNS = ['client_secret', 'refresh_token', 'access_token', 'grant_token'] as const;
type RawRow = Record<string, string | null>;

function rawRows(filename: string): RawRow[] {
  const db = openRawDefault(filename);
  try {
    return db.all('SELECT * FROM oauthtoken ORDER BY CAST(id AS INTEGER)') as RawRow[];
  } finally {
    db.close();
  }
}

function rawUpdate(filename: string, id: string, column: string, value: string | null): void {
  const db = openRawDefault(filename);
  try {
    db.run(`UPDATE oauthtoken SET ${column} = ? WHERE id = ?`, value, id);
  } finally {
    db.close();
  }
}

function secretsOf(token: OAuthToken): string[] {
  return [token.clientSecret, token.refreshToken, token.accessToken, token.grantToken].filter(
    (v): v is string => typeof v === 'string',
  );
}

async function rejectsWithCode(
  promise: Promise<unknown>,
  code: string,
  check?: (error: Error & { field?: string }) => void,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isZohoTokenError(error), `expected a ZohoTokenError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    check?.(error);
    return true;
  });
}

/** Every form an error can reach a log in. */
function errorTexts(error: unknown): string {
  const e = error as Error;
  return [
    e.message,
    String(e.stack),
    JSON.stringify(e),
    inspect(e, { depth: 5, showHidden: true }),
    inspect((e as { cause?: unknown }).cause),
  ].join('\n');
}

function assertNoneIn(text: string, needles: readonly string[], what: string): void {
  for (const needle of needles) assert.ok(!text.includes(needle), `${what} contains a secret value`);
}

/** A plain object forwarding to `inner` (stores keep private fields, so no prototype tricks). */
function delegate(inner: TokenStore, overrides: Partial<TokenStore>): TokenStore {
  return {
    findToken: (t) => inner.findToken(t),
    saveToken: (t) => inner.saveToken(t),
    deleteToken: (id) => inner.deleteToken(id),
    getTokens: () => inner.getTokens(),
    deleteTokens: () => inner.deleteTokens(),
    findTokenById: (id) => inner.findTokenById(id),
    close: () => inner.close(),
    ...(inner.lock ? { lock: inner.lock } : {}),
    ...overrides,
  };
}

/** The key texts an options object carries (to check no fragment of one reaches an error). */
function keyTextsOf(options: EncryptedStoreOptions): string[] {
  const list = (text: string): string[] => text.split(',').map((entry) => entry.slice(entry.indexOf(':') + 1).trim());
  if (typeof options.keys === 'string') return list(options.keys);
  if (options.keys) return Object.values(options.keys).filter((v): v is string => typeof v === 'string');
  return Object.values(options.env ?? {}).flatMap((v) => (v ? list(v) : []));
}

const sqliteEncrypted = (filename: string, options: EncryptedStoreOptions = ONLY_K1): EncryptedStore =>
  new EncryptedStore(new SqliteStore({ filename }), options);

describeTokenStore(
  { describe, it },
  { name: 'EncryptedStore(MemoryStore)', create: () => new EncryptedStore(new MemoryStore(), ONLY_K1) },
);
describeTokenStore(
  { describe, it },
  {
    name: 'EncryptedStore(MemoryStore) with an older key configured',
    create: () => withEncryption(new MemoryStore(), K2_THEN_K1),
  },
);
describeTokenStore(
  { describe, it },
  {
    name: 'EncryptedStore(SqliteStore :memory:)',
    create: () => new EncryptedStore(new SqliteStore({ filename: ':memory:' }), ONLY_K1),
  },
);
describeTokenStore(
  { describe, it },
  {
    name: 'EncryptedStore(SqliteStore file)',
    create: () => sqliteEncrypted(freshFile()),
    reopen: (store) => sqliteEncrypted(((store as EncryptedStore).store as SqliteStore).filename),
  },
);

describe('EncryptedStore at rest (SQLite file)', () => {
  it('leaves no secret in the database or WAL bytes, in UTF-8, base64, base64url or hex; other fields stay readable', async () => {
    const filename = freshFile();
    const store = sqliteEncrypted(filename);
    const tokens = Array.from({ length: 5 }, () => secretToken());
    for (const token of tokens) await store.saveToken(token);
    const refreshed = new OAuthToken({
      id: tokens[0]!.id,
      accessToken: `1000.access-after-refresh${randomBytes(8).toString('hex')}`,
      expiresAt: 5,
    });
    await store.saveToken(refreshed);
    const secrets = [...tokens.flatMap(secretsOf), refreshed.accessToken!];
    const check = (): void => {
      const files = [filename, `${filename}-wal`].filter((file) => existsSync(file));
      const bytes = Buffer.concat(files.map((file) => readFileSync(file)));
      for (const secret of secrets) {
        for (const form of [
          Buffer.from(secret, 'utf8'),
          Buffer.from(Buffer.from(secret).toString('base64')),
          Buffer.from(Buffer.from(secret).toString('base64url')),
          Buffer.from(Buffer.from(secret).toString('hex')),
        ]) {
          assert.equal(bytes.indexOf(form), -1, 'a secret value is in the database bytes');
        }
      }
      for (const token of tokens) {
        assert.notEqual(bytes.indexOf(Buffer.from(token.userName!)), -1, 'user names stay readable');
        assert.notEqual(bytes.indexOf(Buffer.from(token.apiDomain!)), -1, 'api domains stay readable');
      }
    };
    check();
    for (const row of rawRows(filename)) {
      for (const column of SECRET_COLUMNS) assert.match(String(row[column]), /^zts1:k1:[A-Za-z0-9_-]+$/, column);
      assert.match(String(row['user_name']), /@example\.com$/);
      assert.equal(row['client_id'], CLIENT.clientId);
    }
    await store.close();
    check(); // after the checkpoint into the main file too
  });

  it('finds by refresh, grant and access token, user and id, and returns the plaintext values', async () => {
    const store = sqliteEncrypted(freshFile());
    try {
      const tokens = [secretToken(), secretToken(), secretToken()];
      for (const token of tokens) await store.saveToken(token);
      for (const token of tokens) {
        const { clientId, clientSecret } = token;
        for (const query of [
          new OAuthToken({ clientId, clientSecret, refreshToken: token.refreshToken }),
          new OAuthToken({ clientId, clientSecret, grantToken: token.grantToken }),
          new OAuthToken({ accessToken: token.accessToken }),
          new OAuthToken({ clientId, userSignature: token.userSignature }),
          new OAuthToken({ id: token.id }),
        ]) {
          assert.deepEqual(tokenValues(await store.findToken(query)), tokenValues(token));
        }
      }
      // Deterministic per field, distinct across fields: what lets the inner store match.
      const raw = (await store.store.findTokenById(tokens[0]!.id!))!;
      const again = new EncryptedStore(new MemoryStore(), ONLY_K1);
      await again.saveToken(
        new OAuthToken({ ...CLIENT, refreshToken: tokens[0]!.refreshToken, accessToken: tokens[0]!.refreshToken }),
      );
      const [other] = await again.store.getTokens();
      assert.equal(other!.refreshToken, raw.refreshToken);
      assert.notEqual(other!.accessToken, other!.refreshToken);
      await again.close();
    } finally {
      await store.close();
    }
  });
});

describe('key rotation', () => {
  it('re-encrypts every token from k1 to k2, loses none, survives a crash midway, and a second run is a no-op', async () => {
    const filename = freshFile();
    const old = sqliteEncrypted(filename, ONLY_K1);
    const tokens = Array.from({ length: 6 }, () => secretToken());
    for (const token of tokens) await old.saveToken(token);
    await old.close();
    const expected = tokens.map((t) => tokenValues(t));

    // A rotation that dies after rewriting two tokens.
    const inner = new SqliteStore({ filename });
    let saves = 0;
    const dying = delegate(inner, {
      saveToken: async (token: OAuthToken) => {
        if (++saves > 2) throw new Error('simulated crash');
        return inner.saveToken(token);
      },
    });
    await assert.rejects(
      new EncryptedStore(dying, { ...K2_THEN_K1, ownsStore: false }).rotateKeys(),
      /simulated crash/,
    );
    await inner.close();
    const keyIds = (): Set<string> =>
      new Set(rawRows(filename).flatMap((row) => SECRET_COLUMNS.map((c) => String(row[c]).split(':')[1]!)));
    assert.deepEqual(keyIds(), new Set(['k1', 'k2']));

    const store = sqliteEncrypted(filename, K2_THEN_K1);
    try {
      // Mid-rotation: every token is found whichever key it is under.
      for (const token of tokens) {
        const { clientId, clientSecret } = token;
        assert.equal(
          (await store.findToken(new OAuthToken({ clientId, clientSecret, refreshToken: token.refreshToken })))?.id,
          token.id,
        );
        assert.equal(
          (await store.findToken(new OAuthToken({ clientId, clientSecret, grantToken: token.grantToken })))?.id,
          token.id,
        );
        assert.equal((await store.findToken(new OAuthToken({ accessToken: token.accessToken })))?.id, token.id);
      }
      const report = await store.rotateKeys();
      assert.deepEqual(report, { scanned: 6, reencrypted: 4, alreadyCurrent: 2, values: 16, failed: [] });
      assert.deepEqual(keyIds(), new Set(['k2']));
      assert.deepEqual(await store.rotateKeys(), {
        scanned: 6,
        reencrypted: 0,
        alreadyCurrent: 6,
        values: 0,
        failed: [],
      });
      assert.deepEqual(
        (await store.getTokens()).map((t) => tokenValues(t)),
        expected,
      );
    } finally {
      await store.close();
    }

    // k1 dropped: everything still reads and is found.
    const newOnly = sqliteEncrypted(filename, ONLY_K2);
    try {
      assert.deepEqual(
        (await newOnly.getTokens()).map((t) => tokenValues(t)),
        expected,
      );
      const last = tokens[5]!;
      assert.equal(
        (
          await newOnly.findToken(
            new OAuthToken({ ...CLIENT, clientSecret: last.clientSecret, refreshToken: last.refreshToken }),
          )
        )?.id,
        last.id,
      );
    } finally {
      await newOnly.close();
    }
    const oldOnly = sqliteEncrypted(filename, ONLY_K1);
    await rejectsWithCode(oldOnly.getTokens(), ErrorCode.DECRYPTION_FAILED, (e) =>
      assert.match(e.message, /key id "k2" is not configured/),
    );
    await oldOnly.close();
  });

  it('a save during rotation updates the row stored under the older key instead of duplicating it', async () => {
    const filename = freshFile();
    const old = sqliteEncrypted(filename, ONLY_K1);
    const a = secretToken();
    const b = secretToken();
    await old.saveToken(a);
    await old.saveToken(b);
    await old.close();
    const store = sqliteEncrypted(filename, K2_THEN_K1);
    try {
      const refresh = new OAuthToken({
        clientId: a.clientId,
        clientSecret: a.clientSecret,
        refreshToken: a.refreshToken,
        accessToken: 'new-access',
        expiresAt: 9,
      });
      await store.saveToken(refresh);
      assert.equal(refresh.id, a.id);
      assert.equal((await store.getTokens()).length, 2);
      const row = rawRows(filename).find((r) => r['id'] === a.id)!;
      for (const column of SECRET_COLUMNS) assert.match(String(row[column]), /^zts1:k2:/);
      assert.equal((await store.findTokenById(a.id!))!.accessToken, 'new-access');
      // A token whose refresh token is another row's (under k1) is still a conflict.
      await rejectsWithCode(
        store.saveToken(
          new OAuthToken({
            id: a.id,
            clientId: b.clientId,
            clientSecret: b.clientSecret,
            refreshToken: b.refreshToken,
          }),
        ),
        ErrorCode.TOKEN_CONFLICT,
      );
    } finally {
      await store.close();
    }
  });

  it('keeps the matching precedence across keys: a grant-token hit under k1 beats a refresh-token hit under k2', async () => {
    const inner = new MemoryStore();
    const a = secretToken();
    const b = secretToken();
    await new EncryptedStore(inner, { ...ONLY_K1, ownsStore: false }).saveToken(a);
    const store = new EncryptedStore(inner, K2_THEN_K1);
    await store.saveToken(b);
    const query = new OAuthToken({ ...CLIENT, grantToken: a.grantToken, refreshToken: b.refreshToken });
    assert.equal((await store.findToken(query))?.id, a.id);
    await store.close();
  });

  it('close() during a rotation stops it at the next token (STORE_CLOSED) instead of waiting out every lock', async () => {
    const filename = freshFile();
    const old = sqliteEncrypted(filename, ONLY_K1);
    const tokens = [secretToken(), secretToken(), secretToken(), secretToken(), secretToken()];
    for (const token of tokens) await old.saveToken(token);
    await old.close();
    const store = sqliteEncrypted(filename, K2_THEN_K1);
    for (const token of tokens) {
      assert.ok(await store.lock!.acquire(`refresh:${token.id}`, { leaseMs: 60_000, waitMs: 0 }));
    }
    const rotation = store.rotateKeys({ lockWaitMs: 300 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await store.close();
    await assert.rejects(rotation, { code: ErrorCode.STORE_CLOSED });
  });

  it('skips a token whose refresh lock is held, and finishes it on the next run', async () => {
    const filename = freshFile();
    const old = sqliteEncrypted(filename, ONLY_K1);
    const tokens = [secretToken(), secretToken()];
    for (const token of tokens) await old.saveToken(token);
    await old.close();
    const store = sqliteEncrypted(filename, K2_THEN_K1);
    try {
      const held = await store.lock!.acquire(`refresh:${tokens[0]!.id}`, { leaseMs: 60_000, waitMs: 0 });
      assert.ok(held);
      const first = await store.rotateKeys({ lockWaitMs: 20 });
      assert.deepEqual(first.failed, [{ id: tokens[0]!.id, code: ErrorCode.LOCK_TIMEOUT }]);
      assert.equal(first.reencrypted, 1);
      await held.release();
      const second = await store.rotateKeys();
      assert.deepEqual([second.reencrypted, second.alreadyCurrent, second.failed], [1, 1, []]);
    } finally {
      await store.close();
    }
  });
});

describe('plaintext values from before encryption', () => {
  it('are read and found as is, encrypted when a save touches their row, and all encrypted by rotateKeys', async () => {
    const filename = freshFile();
    const plain = new SqliteStore({ filename });
    const tokens = [secretToken(), secretToken(), secretToken()];
    for (const token of tokens) await plain.saveToken(token);
    await plain.close();

    const strict = sqliteEncrypted(filename, { ...ONLY_K1, acceptPlaintext: false });
    await rejectsWithCode(strict.findTokenById(tokens[0]!.id!), ErrorCode.DECRYPTION_FAILED, (e) =>
      assert.match(e.message, /not encrypted/),
    );
    await strict.close();

    const store = sqliteEncrypted(filename);
    try {
      assert.deepEqual(
        (await store.getTokens()).map((t) => tokenValues(t)),
        tokens.map((t) => tokenValues(t)),
      );
      const t = tokens[1]!;
      assert.equal((await store.findToken(new OAuthToken({ accessToken: t.accessToken })))?.id, t.id);
      assert.equal(
        (await store.findToken(new OAuthToken({ ...CLIENT, clientSecret: t.clientSecret, grantToken: t.grantToken })))
          ?.id,
        t.id,
      );
      const update = new OAuthToken({
        clientId: t.clientId,
        clientSecret: t.clientSecret,
        refreshToken: t.refreshToken,
        accessToken: 'access-2',
      });
      await store.saveToken(update);
      assert.equal(update.id, t.id);
      assert.equal((await store.getTokens()).length, 3);
      const report = await store.rotateKeys();
      assert.deepEqual([report.reencrypted, report.alreadyCurrent, report.failed], [2, 1, []]);
      for (const row of rawRows(filename))
        for (const column of SECRET_COLUMNS) assert.match(String(row[column]), /^zts1:k1:/);
    } finally {
      await store.close();
    }
    const after = sqliteEncrypted(filename, { ...ONLY_K1, acceptPlaintext: false });
    assert.equal((await after.getTokens()).length, 3);
    await after.close();
  });
});

describe('tampered and foreign ciphertexts', () => {
  const cases: [string, (value: string, row: RawRow, foreign: string) => string][] = [
    ['a flipped character in the payload', (v) => `${v.slice(0, 20)}${v[20] === 'A' ? 'B' : 'A'}${v.slice(21)}`],
    ['a truncated value', (v) => v.slice(0, -12)],
    ['a value cut to its header', (v) => v.slice(0, 9)],
    ['an unknown key id', (v) => v.replace('zts1:k1:', 'zts1:k9:')],
    ['an unsupported format version', (v) => v.replace('zts1:', 'zts7:')],
    ['a ciphertext moved from another field', (_v, row) => String(row['access_token'])],
    ['a ciphertext made with another key under the same id', (_v, _row, foreign) => foreign],
  ];
  for (const [label, tamper] of cases) {
    it(`${label} is DECRYPTION_FAILED naming the token and field, without values`, async () => {
      const filename = freshFile();
      const store = sqliteEncrypted(filename);
      const victim = secretToken();
      const bystander = secretToken();
      await store.saveToken(victim);
      await store.saveToken(bystander);
      const foreignStore = new EncryptedStore(new MemoryStore(), { keys: { k1: randomBytes(32) } });
      await foreignStore.saveToken(new OAuthToken({ ...CLIENT, refreshToken: victim.refreshToken }));
      const foreign = (await foreignStore.store.getTokens())[0]!.refreshToken!;
      const row = rawRows(filename).find((r) => r['id'] === victim.id)!;
      const original = String(row['refresh_token']);
      const tampered = tamper(original, row, foreign);
      rawUpdate(filename, victim.id!, 'refresh_token', tampered);
      try {
        for (const read of [
          () => store.findTokenById(victim.id!),
          () => store.getTokens(),
          () => store.findToken(new OAuthToken({ userSignature: victim.userSignature })),
        ]) {
          await rejectsWithCode(read(), ErrorCode.DECRYPTION_FAILED, (error) => {
            assert.equal(error.field, 'refreshToken');
            assert.ok(error.message.includes(`stored token "${victim.id}"`), error.message);
            assertNoneIn(
              errorTexts(error),
              [...secretsOf(victim), original.slice(8), tampered.slice(8), ...KEY_TEXTS].filter((v) => v.length >= 12),
              'the error',
            );
          });
        }
        // Other rows are unaffected.
        assert.deepEqual(tokenValues(await store.findTokenById(bystander.id!)), tokenValues(bystander));
        const report = await store.rotateKeys();
        assert.deepEqual(report.failed, [{ id: victim.id, code: ErrorCode.DECRYPTION_FAILED }]);
      } finally {
        await store.close();
        await foreignStore.close();
      }
    });
  }
});

describe('key configuration', () => {
  const k = (bytes = 32): string => randomBytes(bytes).toString('base64');
  const bad: [string, EncryptedStoreOptions, string][] = [
    ['a 16-byte Buffer', { keys: { k1: randomBytes(16) } }, 'keys'],
    ['a base64 key of 31 bytes', { keys: { k1: k(31) } }, 'keys'],
    ['62 hex digits', { keys: { k1: randomBytes(31).toString('hex') } }, 'keys'],
    ['bad base64', { keys: { k1: `${k().slice(0, 20)}*${k().slice(21)}` } }, 'keys'],
    ['base64 with stray bits', { keys: { k1: `${k().slice(0, 42)}B=` } }, 'keys'],
    ['duplicate ids in a list', { keys: `k1:${k()},k1:${k()}` }, 'keys'],
    ['a list entry without id', { keys: k() }, 'keys'],
    ['an empty list entry', { keys: `k1:${k()},` }, 'keys'],
    ['a bad key id', { keys: { 'k 1': k() } }, 'keys'],
    ['a missing current key', { keys: { k1: k() }, currentKeyId: 'k3' }, 'currentKeyId'],
    ['several keys without currentKeyId', { keys: { k1: k(), k2: k() } }, 'currentKeyId'],
    ['no keys and no environment variable', { env: {} }, 'keys'],
    ['an empty environment variable', { env: { ZOHO_TOKEN_STORE_KEYS: ' ' } }, 'keys'],
    ['a bad key in the environment', { env: { ZOHO_TOKEN_STORE_KEYS: `k2:${k()},k1:${k(20)}` } }, 'keys'],
    ['the same key under two ids', { keys: `k2:${K1_TEXT},k1:${K1.toString('hex')}` }, 'keys'],
    ['an empty key object', { keys: {} }, 'keys'],
  ];
  for (const [label, options, field] of bad) {
    it(`${label} is INVALID_ARGUMENT without key material in the error`, () => {
      // Every 16-character run of the given key texts, so no fragment of a key slips through.
      const fragments = keyTextsOf(options).flatMap((s) =>
        Array.from({ length: Math.max(0, s.length - 15) }, (_, i) => s.slice(i, i + 16)),
      );
      assert.throws(
        () => new EncryptedStore(new MemoryStore(), options),
        (error: unknown) => {
          assert.ok(isZohoTokenError(error, ErrorCode.INVALID_ARGUMENT), String(error));
          assert.equal(error.field, field);
          assertNoneIn(errorTexts(error), [...fragments, ...KEY_TEXTS], 'the error');
          return true;
        },
      );
    });
  }

  it('accepts Buffers, base64, base64url and hex, a key list, and the environment variable (first = current)', async () => {
    const forms: EncryptedStoreOptions[] = [
      { keys: { k1: K1 } },
      { keys: { k1: K1.toString('base64url') } },
      { keys: { k1: K1.toString('hex').toUpperCase() } },
      { keys: ` k1:${K1_TEXT} ` },
      { env: { ZOHO_TOKEN_STORE_KEYS: `k1:${K1_TEXT},k0:${K2_TEXT}` } },
      { keysEnv: 'MY_KEYS', env: { MY_KEYS: `k0:${K2_TEXT},k1:${K1_TEXT}` }, currentKeyId: 'k1' },
    ];
    const reference = new EncryptedStore(new MemoryStore(), ONLY_K1);
    const token = secretToken();
    await reference.saveToken(token);
    const expected = (await reference.store.getTokens())[0]!.refreshToken;
    for (const options of forms) {
      const store = new EncryptedStore(new MemoryStore(), options);
      assert.equal(store.currentKeyId, 'k1');
      await store.saveToken(token.with({ id: null }));
      assert.equal((await store.store.getTokens())[0]!.refreshToken, expected);
      assertNoneIn(inspect(store, { depth: 10, showHidden: true }), KEY_TEXTS, 'inspect(store)');
      await store.close();
    }
    await reference.close();
  });
});

describe('wrapper behaviour', () => {
  it('passes the inner lock through, and only when there is one', async () => {
    const store = new EncryptedStore(new SqliteStore({ filename: ':memory:' }), { ...ONLY_K1, ownsStore: false });
    const handle = await store.lock!.acquire('refresh:1', { leaseMs: 10_000, waitMs: 0 });
    assert.ok(handle);
    assert.equal(await store.store.lock!.acquire('refresh:1', { leaseMs: 10_000, waitMs: 0 }), null);
    await handle.release();
    await store.close();
    await rejectsWithCode(store.lock!.acquire('refresh:1', { leaseMs: 10, waitMs: 0 }), ErrorCode.STORE_CLOSED);
    assert.equal(new EncryptedStore(new MemoryStore(), ONLY_K1).lock, undefined);
  });

  it('closes the inner store only when it owns it', async () => {
    const owned = new MemoryStore();
    await new EncryptedStore(owned, ONLY_K1).close();
    await rejectsWithCode(owned.getTokens(), ErrorCode.STORE_CLOSED);
    const shared = new MemoryStore();
    const wrapper = new EncryptedStore(shared, { ...ONLY_K1, ownsStore: false });
    await wrapper.close();
    await rejectsWithCode(wrapper.getTokens(), ErrorCode.STORE_CLOSED);
    assert.deepEqual(await shared.getTokens(), []);
  });

  it('refuses a non-store and bad flags', () => {
    assert.throws(
      () => new EncryptedStore({} as TokenStore, ONLY_K1),
      (e: unknown) => isZohoTokenError(e, ErrorCode.INVALID_ARGUMENT),
    );
    assert.throws(
      () => new EncryptedStore(new MemoryStore(), { ...ONLY_K1, ownsStore: 'yes' as unknown as boolean }),
      (e: unknown) => isZohoTokenError(e, ErrorCode.INVALID_ARGUMENT),
    );
  });

  for (const acceptPlaintext of [true, false]) {
    it(`never saves a plaintext secret into the inner store${acceptPlaintext ? '' : ', nor looks one up, with acceptPlaintext false'}; its errors carry none`, async () => {
      const saved: string[] = [];
      const looked: string[] = [];
      const inner = new MemoryStore();
      const spy = delegate(inner, {
        findToken: async (t: OAuthToken) => (looked.push(JSON.stringify(t.toInit())), inner.findToken(t)),
        saveToken: async (t: OAuthToken) => (saved.push(JSON.stringify(t.toInit())), inner.saveToken(t)),
      });
      const store = new EncryptedStore(spy, { ...ONLY_K1, acceptPlaintext });
      const a = secretToken();
      const b = secretToken();
      await store.saveToken(a);
      await store.saveToken(b);
      await store.findToken(new OAuthToken({ ...CLIENT, clientSecret: a.clientSecret, refreshToken: a.refreshToken }));
      await store.findToken(new OAuthToken({ accessToken: b.accessToken }));
      const conflict = store.saveToken(
        new OAuthToken({
          ...CLIENT,
          clientSecret: b.clientSecret,
          userSignature: a.userSignature,
          refreshToken: b.refreshToken,
        }),
      );
      await rejectsWithCode(conflict, ErrorCode.TOKEN_CONFLICT, (error) =>
        assertNoneIn(errorTexts(error), [...secretsOf(a), ...secretsOf(b)], 'the error'),
      );
      assertNoneIn(saved.join('\n'), [...secretsOf(a), ...secretsOf(b)], 'what the inner store saved');
      // With plaintext accepted, lookups also probe for unmigrated plaintext rows (documented).
      if (!acceptPlaintext)
        assertNoneIn(looked.join('\n'), [...secretsOf(a), ...secretsOf(b)], 'what the inner store was asked');
      assert.ok(looked.length > 0);
      await store.close();
    });
  }
});
