import assert from 'node:assert/strict';
import { ErrorCode, type ErrorCode as ErrorCodeType, isZohoTokenError } from '../errors.js';
import { OAuthToken, type OAuthTokenInit } from '../token/oauth-token.js';
import { UserSignature } from '../token/user-signature.js';
import type { TokenStore } from '../stores/kit/token-store.js';
import { HOSTILE_VALUES } from './hostile-values.js';
import { compareIds, findTokensById, iterateTokensOf, saveTokensOf } from '../stores/kit/store-paging.js';

/** The parts of a test runner the suite needs: node:test, Vitest, Jest and Mocha all fit. */
export interface SuiteRunner {
  /** Declares a group of tests; `fn` declares them synchronously. */
  describe(name: string, fn: () => void): unknown;
  /** Declares one test; it fails when the promise `fn` returns rejects. */
  it(name: string, fn: () => Promise<void>): unknown;
}

/** Options of {@link describeTokenStore}: how to make the store under test. */
export interface TokenStoreSuiteOptions {
  /** Shown in the suite's title. */
  name: string;
  /** A fresh, empty store; called once per test. The suite closes it at the end of the test. */
  create(): Promise<TokenStore> | TokenStore;
  /**
   * For stores that persist: a new store over the same data as `store` (already closed by the
   * suite). Enables the tests that saves survive a close and reopen.
   */
  reopen?(store: TokenStore): Promise<TokenStore> | TokenStore;
  /**
   * How many saves the concurrency test issues at once.
   * @default 50
   */
  concurrentSaves?: number;
  /**
   * For stores that take a client, pool or database the caller built: a fresh, empty store over
   * such a client, with a probe of that client. Enables the test that closing the store never
   * closes what it was given.
   */
  injected?(): Promise<InjectedClient> | InjectedClient;
}

/** A store over a client the caller built (see `TokenStoreSuiteOptions.injected`). */
export interface InjectedClient {
  /** The store under test, built over the caller's client; the suite closes it. */
  store: TokenStore;
  /** Resolves when the caller's client still works (a `SELECT 1`, a `PING`); rejects or throws otherwise. */
  stillOpen(): Promise<unknown> | unknown;
  /** Closes the caller's client; called at the end of the test. */
  dispose(): Promise<unknown> | unknown;
}

const CLIENT = { clientId: '1000.CLIENTAAAAAAAAAAAAAAAAAAAAAAAAA', clientSecret: 'secret-a-0123456789abcdef' };
const CLIENT_B = { clientId: '1000.CLIENTBBBBBBBBBBBBBBBBBBBBBBBBB', clientSecret: 'secret-b-0123456789abcdef' };
let serial = 0;
/** A unique token-like string, so tests never collide with each other's values. */
const unique = (prefix: string): string =>
  `1000.${prefix}${(++serial).toString(16).padStart(8, '0')}${Math.random().toString(16).slice(2, 10)}`;

function full(overrides: OAuthTokenInit = {}): OAuthToken {
  return new OAuthToken({
    ...CLIENT,
    userSignature: new UserSignature(`${unique('user')}@example.com`),
    refreshToken: unique('refresh'),
    accessToken: unique('access'),
    grantToken: unique('grant'),
    expiresAt: 1_767_225_600_000,
    redirectUrl: 'https://app.example.com/oauth/callback',
    apiDomain: 'https://www.zohoapis.eu',
    accountsUrl: 'https://accounts.zoho.eu',
    ...overrides,
  });
}

/** Every field of a token, for comparison by value. */
export function tokenValues(token: OAuthToken | null): Record<string, unknown> | null {
  if (token === null) return null;
  const { userSignature, ...rest } = token.toInit();
  return { ...rest, userName: userSignature instanceof UserSignature ? userSignature.name : (userSignature ?? null) };
}

function assertSame(actual: OAuthToken | null, expected: OAuthToken, message?: string): void {
  assert.ok(actual instanceof OAuthToken, message ?? 'expected a token, got null');
  assert.deepEqual(tokenValues(actual), tokenValues(expected), message);
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCodeType): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isZohoTokenError(error), `expected a ZohoTokenError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

async function allValues(store: TokenStore): Promise<Record<string, unknown>[]> {
  const tokens = await store.getTokens();
  return tokens
    .map((t) => tokenValues(t)!)
    .sort((a, b) => Number(a['id']) - Number(b['id']) || String(a['id']).localeCompare(String(b['id'])));
}

/**
 * Registers the token store conformance suite: every method of the contract and every matching
 * rule, checked by value, on a fresh store per test. Usage with node:test:
 *
 * ```ts
 * import { describe, it } from 'node:test';
 * import { describeTokenStore } from 'zoho-token-store/testing';
 * describeTokenStore({ describe, it }, { name: 'MyStore', create: () => new MyStore() });
 * ```
 */
export function describeTokenStore(runner: SuiteRunner, options: TokenStoreSuiteOptions): void {
  const { describe } = runner;
  const concurrentSaves = options.concurrentSaves ?? 50;
  if (!Number.isSafeInteger(concurrentSaves) || concurrentSaves < 2) {
    throw new TypeError('describeTokenStore: concurrentSaves must be an integer of at least 2');
  }
  if (typeof options.create !== 'function')
    throw new TypeError('describeTokenStore: options.create must be a function');

  const test = (name: string, body: (store: TokenStore) => Promise<void>): void => {
    runner.it(name, async () => {
      const store = await options.create();
      try {
        assert.deepEqual(await store.getTokens(), [], 'create() must return an empty store');
        await body(store);
      } finally {
        await store.close();
      }
    });
  };

  describe(`TokenStore conformance: ${options.name}`, () => {
    describe('saveToken and the finds', () => {
      test('insert assigns a numeric id of at most 10 characters and sets it on the token', async (store) => {
        const token = full();
        assert.equal(token.id, undefined);
        await store.saveToken(token);
        assert.match(String(token.id), /^\d{1,10}$/);
        assertSame(await store.findTokenById(token.id!), token);
      });

      test('every field round-trips exactly, including the expiry in epoch ms', async (store) => {
        for (const expiresAt of [0, 1, 1_700_000_000_123, Number.MAX_SAFE_INTEGER]) {
          const token = full({ expiresAt });
          await store.saveToken(token);
          const found = await store.findTokenById(token.id!);
          assertSame(found, token);
          assert.equal(found!.expiresAt, expiresAt);
          assert.equal(typeof found!.expiresAt, 'number');
        }
        const noExpiry = full({ expiresAt: null, accessToken: null });
        await store.saveToken(noExpiry);
        const found = await store.findTokenById(noExpiry.id!);
        assert.equal(found!.expiresAt, null);
        assert.equal(found!.accessToken, null);
      });

      test('not found is null for findToken and findTokenById', async (store) => {
        await store.saveToken(full());
        assert.equal(await store.findTokenById('999999'), null);
        assert.equal(await store.findTokenById(''), null);
        assert.equal(await store.findToken(new OAuthToken({ ...CLIENT, refreshToken: unique('nope') })), null);
        assert.equal(await store.findToken(new OAuthToken({ userSignature: 'nobody@example.com' })), null);
        assert.equal(await store.findToken(new OAuthToken({ id: '424242' })), null);
      });

      test('returned tokens are copies', async (store) => {
        const token = full();
        await store.saveToken(token);
        const found = (await store.findTokenById(token.id!))!;
        found.accessToken = 'changed';
        token.accessToken = 'changed-too';
        assert.notEqual((await store.findTokenById(token.id!))!.accessToken, 'changed');
        assert.notEqual((await store.findTokenById(token.id!))!.accessToken, 'changed-too');
        assert.notEqual(found, await store.findTokenById(token.id!));
      });
    });

    describe('matching precedence', () => {
      test('an id is authoritative: it finds its row whatever else the token says, or nothing', async (store) => {
        const a = full();
        const b = full();
        await store.saveToken(a);
        await store.saveToken(b);
        assertSame(
          await store.findToken(
            new OAuthToken({ id: a.id, userSignature: b.userSignature, ...CLIENT, refreshToken: b.refreshToken }),
          ),
          a,
        );
        assert.equal(
          await store.findToken(new OAuthToken({ id: '987654', ...CLIENT, refreshToken: b.refreshToken })),
          null,
        );
      });

      test('the user name (with client id) comes before the tokens', async (store) => {
        const a = full();
        const b = full();
        await store.saveToken(a);
        await store.saveToken(b);
        assertSame(
          await store.findToken(
            new OAuthToken({ ...CLIENT, userSignature: a.userSignature, refreshToken: b.refreshToken }),
          ),
          a,
        );
        assertSame(await store.findToken(new OAuthToken({ userSignature: b.userSignature })), b);
      });

      test('an access token matches only when the token has no client credentials', async (store) => {
        const a = full();
        await store.saveToken(a);
        assertSame(await store.findToken(new OAuthToken({ accessToken: a.accessToken })), a);
        // With client credentials and no other key, nothing is usable: never "the first row".
        assert.equal(await store.findToken(new OAuthToken({ ...CLIENT, accessToken: a.accessToken })), null);
      });

      test('the grant token comes before the refresh token', async (store) => {
        const a = full();
        const b = full();
        await store.saveToken(a);
        await store.saveToken(b);
        assertSame(
          await store.findToken(new OAuthToken({ ...CLIENT, grantToken: a.grantToken, refreshToken: b.refreshToken })),
          a,
        );
        assertSame(
          await store.findToken(
            new OAuthToken({ ...CLIENT, grantToken: unique('unknown'), refreshToken: b.refreshToken }),
          ),
          b,
        );
        assertSame(await store.findToken(new OAuthToken({ ...CLIENT, refreshToken: a.refreshToken })), a);
      });

      test('a token with no usable key finds nothing and cannot be saved', async (store) => {
        const a = full();
        await store.saveToken(a);
        const keyless = new OAuthToken({ ...CLIENT, accessToken: a.accessToken });
        assert.equal(await store.findToken(keyless), null);
        await rejectsWith(store.saveToken(keyless), ErrorCode.TOKEN_UNMATCHABLE);
        assert.deepEqual(await allValues(store), [tokenValues(a)]);
      });

      test('matching is exact: case, spaces and LIKE wildcards never match another row', async (store) => {
        const a = full({ userSignature: 'Alice@Example.com' });
        await store.saveToken(a);
        for (const name of [
          'alice@example.com',
          'Alice@Example.com ',
          ' Alice@Example.com',
          '%',
          'Alice@Example.co_',
          '*',
        ]) {
          assert.equal(
            await store.findToken(new OAuthToken({ userSignature: name })),
            null,
            `user ${JSON.stringify(name)}`,
          );
        }
        assert.equal(
          await store.findToken(new OAuthToken({ ...CLIENT, refreshToken: a.refreshToken!.toUpperCase() })),
          null,
        );
        assert.equal(await store.findToken(new OAuthToken({ ...CLIENT, refreshToken: '%' })), null);
      });
    });

    describe('upsert', () => {
      test('saving the same user again updates the row and keeps its id', async (store) => {
        const a = full();
        await store.saveToken(a);
        const again = full({
          userSignature: a.userSignature,
          accessToken: 'new-access',
          refreshToken: unique('r2'),
          grantToken: unique('g2'),
        });
        await store.saveToken(again);
        assert.equal(again.id, a.id);
        assert.deepEqual(await allValues(store), [tokenValues(again)]);
      });

      test('undefined keeps the stored value, null clears it', async (store) => {
        const a = full();
        await store.saveToken(a);
        const patch = new OAuthToken({
          id: a.id,
          accessToken: 'fresh-access',
          expiresAt: 42,
          grantToken: null,
          redirectUrl: null,
        });
        await store.saveToken(patch);
        const found = (await store.findTokenById(a.id!))!;
        assert.equal(found.accessToken, 'fresh-access');
        assert.equal(found.expiresAt, 42);
        assert.equal(found.grantToken, null);
        assert.equal(found.redirectUrl, null);
        assert.equal(found.refreshToken, a.refreshToken);
        assert.equal(found.clientSecret, a.clientSecret);
        assert.equal(found.userSignature?.name, a.userSignature?.name);
        assert.equal(found.apiDomain, a.apiDomain);
        assert.equal(found.accountsUrl, a.accountsUrl);
        await store.saveToken(new OAuthToken({ id: a.id, userSignature: null, apiDomain: null, accountsUrl: null }));
        const cleared = (await store.findTokenById(a.id!))!;
        assert.equal(cleared.userSignature, null);
        assert.equal(cleared.apiDomain, null);
        assert.equal(cleared.accountsUrl, null);
        assert.equal(cleared.refreshToken, a.refreshToken);
      });

      test('a saved token with an unknown id is inserted under that id', async (store) => {
        const a = full({ id: '77' });
        await store.saveToken(a);
        assert.equal(a.id, '77');
        assertSame(await store.findTokenById('77'), a);
        const next = full();
        await store.saveToken(next);
        assert.notEqual(next.id, '77');
      });

      test('a save that would leave a stored token invalid (refresh token without secret) is refused', async (store) => {
        const a = full();
        await store.saveToken(a);
        await rejectsWith(store.saveToken(new OAuthToken({ id: a.id, clientSecret: null })), ErrorCode.INVALID_TOKEN);
        await rejectsWith(
          store.saveToken(
            new OAuthToken({ ...CLIENT, userSignature: a.userSignature, clientId: null, accessToken: 'x' }),
          ),
          ErrorCode.INVALID_TOKEN,
        );
        assert.deepEqual(await allValues(store), [tokenValues(a)]);
      });

      test('a new token without a grant, refresh or access token is refused and nothing is written', async (store) => {
        await rejectsWith(
          store.saveToken(new OAuthToken({ userSignature: 'lonely@example.com' })),
          ErrorCode.TOKEN_INCOMPLETE,
        );
        await rejectsWith(store.saveToken(new OAuthToken({ id: '5', ...CLIENT })), ErrorCode.TOKEN_INCOMPLETE);
        assert.deepEqual(await store.getTokens(), []);
      });
    });

    describe('no duplicates', () => {
      test('a new user name whose refresh token is stored updates that row', async (store) => {
        const a = full();
        await store.saveToken(a);
        const renamed = new OAuthToken({
          ...CLIENT,
          userSignature: 'renamed@example.com',
          refreshToken: a.refreshToken,
          accessToken: 'a2',
        });
        await store.saveToken(renamed);
        assert.equal(renamed.id, a.id);
        const rows = await allValues(store);
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!['userName'], 'renamed@example.com');
        assert.equal(rows[0]!['accessToken'], 'a2');
      });

      test('the same grant token twice is one row', async (store) => {
        const grantToken = unique('grant');
        const first = new OAuthToken({ ...CLIENT, grantToken });
        await store.saveToken(first);
        const second = new OAuthToken({
          ...CLIENT,
          grantToken,
          refreshToken: unique('r'),
          accessToken: 'x',
          expiresAt: 5,
        });
        await store.saveToken(second);
        assert.equal(second.id, first.id);
        assert.equal((await store.getTokens()).length, 1);
      });

      test('the same (client id, user name) twice is one row', async (store) => {
        const a = full();
        await store.saveToken(a);
        await store.saveToken(full({ userSignature: a.userSignature }));
        await store.saveToken(full({ userSignature: a.userSignature }));
        assert.equal((await store.getTokens()).length, 1);
      });

      test('a token whose keys point at two stored rows is refused and nothing changes', async (store) => {
        const a = full();
        const b = full();
        await store.saveToken(a);
        await store.saveToken(b);
        const before = await allValues(store);
        await rejectsWith(
          store.saveToken(
            new OAuthToken({
              ...CLIENT,
              userSignature: a.userSignature,
              refreshToken: b.refreshToken,
              accessToken: 'x',
            }),
          ),
          ErrorCode.TOKEN_CONFLICT,
        );
        await rejectsWith(
          store.saveToken(new OAuthToken({ id: a.id, ...CLIENT, grantToken: b.grantToken })),
          ErrorCode.TOKEN_CONFLICT,
        );
        await rejectsWith(
          store.saveToken(new OAuthToken({ id: '31337', ...CLIENT, refreshToken: b.refreshToken })),
          ErrorCode.TOKEN_CONFLICT,
        );
        // An id that is not stored while the token's user is: not a second row for that user.
        await rejectsWith(
          store.saveToken(new OAuthToken({ id: '31338', userSignature: a.userSignature, accessToken: 'x' })),
          ErrorCode.TOKEN_CONFLICT,
        );
        // Moving a stored user onto a client that user already has a row for would duplicate the pair.
        const aOnB = full({ ...CLIENT_B, userSignature: a.userSignature });
        await store.saveToken(aOnB);
        await rejectsWith(
          store.saveToken(new OAuthToken({ id: aOnB.id, clientId: CLIENT.clientId })),
          ErrorCode.TOKEN_CONFLICT,
        );
        assert.deepEqual(await allValues(store), [...before, tokenValues(aOnB)]);
      });
    });

    describe('isolation of users and clients', () => {
      test('users and client ids stay apart', async (store) => {
        const user = new UserSignature('shared@example.com');
        const aX = full({ userSignature: user });
        const aY = full({ ...CLIENT_B, userSignature: user });
        const bX = full({ userSignature: 'other@example.com' });
        for (const token of [aX, aY, bX]) await store.saveToken(token);
        assert.equal(new Set([aX.id, aY.id, bX.id]).size, 3);
        assertSame(await store.findToken(new OAuthToken({ ...CLIENT, userSignature: user })), aX);
        assertSame(await store.findToken(new OAuthToken({ ...CLIENT_B, userSignature: user })), aY);
        assert.equal(await store.findToken(new OAuthToken({ ...CLIENT_B, userSignature: 'other@example.com' })), null);
      });

      test('a user name without a client id is ambiguous when the user has several clients', async (store) => {
        const user = new UserSignature('two-clients@example.com');
        await store.saveToken(full({ userSignature: user }));
        await store.saveToken(full({ ...CLIENT_B, userSignature: user }));
        await rejectsWith(store.findToken(new OAuthToken({ userSignature: user })), ErrorCode.TOKEN_AMBIGUOUS);
      });

      test('updating one user never touches another', async (store) => {
        const a = full();
        const b = full();
        await store.saveToken(a);
        await store.saveToken(b);
        await store.saveToken(
          new OAuthToken({ ...CLIENT, userSignature: a.userSignature, accessToken: 'only-a', expiresAt: 1 }),
        );
        assertSame(await store.findTokenById(b.id!), b);
        assert.equal((await store.findTokenById(a.id!))!.accessToken, 'only-a');
      });
    });

    describe('ids', () => {
      test('ids stay unique and numeric well past 10 tokens, and deleted ids are not reused', async (store) => {
        const ids: string[] = [];
        for (let i = 0; i < 25; i++) {
          const token = full();
          await store.saveToken(token);
          ids.push(token.id!);
        }
        assert.equal(new Set(ids).size, 25);
        for (const id of ids) assert.match(id, /^\d{1,10}$/);
        const last = ids[24]!;
        await store.deleteToken(last);
        const next = full();
        await store.saveToken(next);
        assert.ok(!ids.includes(next.id!), `id ${next.id} was handed out twice`);
        assert.equal((await store.getTokens()).length, 25);
      });

      test(`${concurrentSaves} concurrent saves get distinct ids and all persist`, async (store) => {
        const tokens = Array.from({ length: concurrentSaves }, () => full());
        await Promise.all(tokens.map((t) => store.saveToken(t)));
        assert.equal(new Set(tokens.map((t) => t.id)).size, concurrentSaves);
        const stored = await store.getTokens();
        assert.equal(stored.length, concurrentSaves);
        for (const token of tokens) assertSame(await store.findTokenById(token.id!), token);
      });

      test('a caller-chosen id must be canonical (1 to 999999999, plain digits): anything else is INVALID_TOKEN', async (store) => {
        const one = full({ id: '1' });
        await store.saveToken(one);
        for (const id of [
          '1 ',
          ' 1',
          '01',
          '+1',
          '0',
          '-1',
          '1.0',
          '1e3',
          ' 9999999',
          '9999999 ',
          '0x1f',
          '\u0661',
          'abc',
          '1000000000',
          '9999999999',
        ]) {
          await rejectsWith(store.saveToken(full({ id })), ErrorCode.INVALID_TOKEN);
        }
        assert.deepEqual(await allValues(store), [tokenValues(one)]);
        const next = full();
        await store.saveToken(next);
        assert.equal(next.id, '2', 'a refused id must not move the numbering');
      });

      test('ids are matched exactly: a padded, signed or zero-led id finds and deletes nothing', async (store) => {
        const one = full({ id: '1' });
        await store.saveToken(one);
        for (const id of ['1 ', ' 1', '01', '+1', '1\t', '\u00a01']) {
          assert.equal(await store.findTokenById(id), null, `findTokenById(${JSON.stringify(id)})`);
          assert.equal(await store.findToken(new OAuthToken({ id })), null, `findToken({ id: ${JSON.stringify(id)} })`);
          await store.deleteToken(id);
        }
        assert.deepEqual(await allValues(store), [tokenValues(one)]);
      });

      test('numbering is one more than the largest id ever held, the same in every store', async (store) => {
        // Deleting ids that are not stored holds nothing: the numbering does not move.
        for (const id of ['500', ' 9999999', '9999999 ', '0500', 'abc']) await store.deleteToken(id);
        const first = full();
        await store.saveToken(first);
        assert.equal(first.id, '1');
        await store.saveToken(full({ id: '41' }));
        const after = full();
        await store.saveToken(after);
        assert.equal(after.id, '42');
        await store.deleteToken('42');
        await store.deleteToken('41');
        const afterDelete = full();
        await store.saveToken(afterDelete);
        assert.equal(afterDelete.id, '43');
      });

      test('no single caller-chosen id can exhaust the id space', async (store) => {
        await rejectsWith(store.saveToken(full({ id: '9999999999' })), ErrorCode.INVALID_TOKEN);
        const highest = full({ id: '999999999' });
        await store.saveToken(highest);
        await store.deleteToken('999999999');
        const next = full();
        await store.saveToken(next);
        assert.equal(next.id, '1000000000');
        const again = full();
        await store.saveToken(again);
        assert.equal(again.id, '1000000001');
        assert.equal((await store.getTokens()).length, 2);
      });

      test('concurrent saves of one user end as one row', async (store) => {
        const user = new UserSignature('racer@example.com');
        await Promise.all(Array.from({ length: 20 }, () => store.saveToken(full({ userSignature: user }))));
        assert.equal((await store.getTokens()).length, 1);
      });
    });

    describe('deletes and listing', () => {
      test('getTokens lists every token; deleteToken removes exactly one; unknown ids are a no-op', async (store) => {
        const tokens = [full(), full(), full()];
        for (const t of tokens) await store.saveToken(t);
        assert.deepEqual(
          await allValues(store),
          tokens.map((t) => tokenValues(t)),
        );
        await store.deleteToken(tokens[1]!.id!);
        assert.deepEqual(await allValues(store), [tokenValues(tokens[0]!), tokenValues(tokens[2]!)]);
        await store.deleteToken('99999999');
        await store.deleteToken('');
        await store.deleteToken(tokens[1]!.id!);
        assert.equal((await store.getTokens()).length, 2);
        assert.equal(await store.findTokenById(tokens[1]!.id!), null);
        assert.equal(await store.findToken(new OAuthToken({ ...CLIENT, refreshToken: tokens[1]!.refreshToken })), null);
      });

      test('deleteTokens removes every token and the store stays usable', async (store) => {
        for (let i = 0; i < 5; i++) await store.saveToken(full());
        await store.deleteTokens();
        assert.deepEqual(await store.getTokens(), []);
        const again = full();
        await store.saveToken(again);
        assertSame(await store.findTokenById(again.id!), again);
      });

      test('a deleted token frees its user, grant and refresh token for a new row', async (store) => {
        const a = full();
        await store.saveToken(a);
        await store.deleteToken(a.id!);
        const b = full({ userSignature: a.userSignature, grantToken: a.grantToken, refreshToken: a.refreshToken });
        await store.saveToken(b);
        assert.notEqual(b.id, a.id);
        assertSame(await store.findToken(new OAuthToken({ ...CLIENT, refreshToken: a.refreshToken })), b);
      });
    });

    describe('paging: iterateTokens and saveTokens (or their fallbacks)', () => {
      const collect = async (store: TokenStore, batchSize?: number): Promise<OAuthToken[][]> => {
        const pages: OAuthToken[][] = [];
        for await (const page of iterateTokensOf(store, batchSize === undefined ? undefined : { batchSize }))
          pages.push(page);
        return pages;
      };

      test('pages hold every token exactly once, in id order, for batch sizes 1, 2, 7 and large', async (store) => {
        const tokens = Array.from({ length: 23 }, () => full());
        await saveTokensOf(store, tokens);
        const expected = tokens
          .map((t) => tokenValues(t))
          .sort((a, b) => compareIds(String(a!['id']), String(b!['id'])));
        for (const size of [1, 2, 7, 10_000, undefined]) {
          const pages = await collect(store, size);
          const limit = size ?? 500;
          assert.ok(
            pages.every((page) => page.length >= 1 && page.length <= limit),
            `page sizes for ${size}`,
          );
          assert.equal(pages.length, Math.ceil(23 / limit), `page count for ${size}`);
          assert.deepEqual(pages.flat().map(tokenValues), expected, `batchSize ${size}`);
        }
        await store.deleteTokens();
        assert.deepEqual(await collect(store, 3), []);
      });

      test('saveTokens saves in order like saveToken: ids set, a later token updates an earlier one', async (store) => {
        const stored = full();
        await store.saveToken(stored);
        const a = full();
        const b = full({ id: '777' });
        const aAgain = new OAuthToken({ ...CLIENT, userSignature: a.userSignature, accessToken: unique('access') });
        const storedAgain = new OAuthToken({ id: stored.id, expiresAt: 1_800_000_000_000 });
        await saveTokensOf(store, [a, b, aAgain, storedAgain]);
        assert.equal(b.id, '777');
        assert.equal(aAgain.id, a.id);
        assert.equal(storedAgain.id, stored.id);
        assert.ok(Number(a.id) > Number(stored.id), 'a new id continues the numbering');
        assertSame(await store.findTokenById(a.id!), a.with({ accessToken: aAgain.accessToken }));
        assertSame(await store.findTokenById(stored.id!), stored.with({ expiresAt: 1_800_000_000_000 }));
        assertSame(await store.findTokenById('777'), b);
        assert.equal((await store.getTokens()).length, 3);
        await saveTokensOf(store, []);
        assert.equal((await store.getTokens()).length, 3);
      });

      test('saveTokens rejects with the first refusal; the tokens before it are saved', async (store) => {
        const before = full();
        const holder = full();
        await store.saveToken(holder);
        // Its user is one row and its refresh token another: TOKEN_CONFLICT, as saveToken.
        const refused = full({ userSignature: before.userSignature, refreshToken: holder.refreshToken });
        await rejectsWith(saveTokensOf(store, [before, refused, full()]), ErrorCode.TOKEN_CONFLICT);
        assert.ok(before.id, 'the token before the refusal has its id');
        assertSame(await store.findTokenById(before.id!), before);
        assertSame(await store.findTokenById(holder.id!), holder);
        const bad = store as unknown as Record<string, (arg?: unknown) => Promise<unknown>>;
        if (typeof bad['saveTokens'] === 'function') {
          await rejectsWith(bad['saveTokens'].call(store, 'tokens'), ErrorCode.INVALID_ARGUMENT);
          await rejectsWith(bad['saveTokens'].call(store, [{ refreshToken: 'x' }]), ErrorCode.INVALID_ARGUMENT);
        }
      });

      test('findTokensById answers in the order asked, null where none, ids compared exactly', async (store) => {
        const [a, b] = [full(), full()];
        await saveTokensOf(store, [a, b]);
        const found = await findTokensById(store, [b.id!, '999999', a.id!, b.id!, `0${a.id!}`, `${a.id!} `, '']);
        assert.deepEqual(found.map(tokenValues), [
          tokenValues(b),
          null,
          tokenValues(a),
          tokenValues(b),
          null,
          null,
          null,
        ]);
        assert.deepEqual(await findTokensById(store, []), []);
        await rejectsWith(findTokensById(store, 'ids' as unknown as string[]), ErrorCode.INVALID_ARGUMENT);
        await rejectsWith(findTokensById(store, [5] as unknown as string[]), ErrorCode.INVALID_ARGUMENT);
      });

      test('iterateTokens refuses a batch size that is not an integer of 1 to 10,000', async (store) => {
        await store.saveToken(full());
        for (const batchSize of [0, -1, 1.5, 10_001, Number.NaN, '5']) {
          await rejectsWith(collect(store, batchSize as number), ErrorCode.INVALID_ARGUMENT);
        }
      });

      test('tokens stored for the whole iteration come exactly once while others are saved and deleted', async (store) => {
        const tokens = Array.from({ length: 30 }, () => full());
        await saveTokensOf(store, tokens);
        const ids = new Set(tokens.map((t) => t.id!));
        const sorted = [...ids].sort(compareIds);
        const doomed = sorted[20]!;
        const seen: string[] = [];
        let round = 0;
        for await (const page of iterateTokensOf(store, { batchSize: 4 })) {
          seen.push(...page.map((t) => t.id!));
          if (round++ > 2) continue;
          // Meanwhile: new tokens, updates of listed and unlisted ones, a delete ahead of the cursor.
          await saveTokensOf(store, [full(), full()]);
          await store.saveToken(new OAuthToken({ id: sorted[round]!, accessToken: unique('access') }));
          await store.saveToken(new OAuthToken({ id: sorted[25 + round]!, accessToken: unique('access') }));
          if (round === 2) await store.deleteToken(doomed);
        }
        assert.equal(new Set(seen).size, seen.length, 'no token comes twice');
        for (const id of ids) if (id !== doomed) assert.ok(seen.includes(id), `token ${id} is missing`);
      });
    });

    describe('bad input', () => {
      test('wrong argument types are typed errors, not crashes or no-ops', async (store) => {
        const bad = store as unknown as Record<string, (arg?: unknown) => Promise<unknown>>;
        await rejectsWith(bad['saveToken']!.call(store, { refreshToken: 'x' }), ErrorCode.INVALID_ARGUMENT);
        await rejectsWith(bad['saveToken']!.call(store, null), ErrorCode.INVALID_ARGUMENT);
        await rejectsWith(bad['findToken']!.call(store, undefined), ErrorCode.INVALID_ARGUMENT);
        await rejectsWith(bad['findTokenById']!.call(store, 5), ErrorCode.INVALID_ARGUMENT);
        await rejectsWith(bad['deleteToken']!.call(store, undefined), ErrorCode.INVALID_ARGUMENT);
        const mutated = full();
        (mutated as unknown as Record<string, unknown>)['expiresAt'] = 'tomorrow';
        await rejectsWith(store.saveToken(mutated), ErrorCode.INVALID_TOKEN);
        assert.deepEqual(await store.getTokens(), []);
      });

      test('a lone UTF-16 surrogate in any field is INVALID_TOKEN and nothing is stored', async (store) => {
        const fields = [
          'id',
          'userSignature',
          'clientId',
          'clientSecret',
          'refreshToken',
          'accessToken',
          'grantToken',
          'redirectUrl',
          'apiDomain',
          'accountsUrl',
        ];
        for (const field of fields) {
          for (const lone of ['\ud800', '\udfff', 'x\udc00y', 'x\ud83d']) {
            const token = full();
            (token as unknown as Record<string, unknown>)[field] =
              field === 'id' ? lone.slice(0, 10) : `${lone}@${field}`;
            await assert.rejects(store.saveToken(token), (error: unknown) => {
              assert.ok(
                isZohoTokenError(error, ErrorCode.INVALID_TOKEN),
                `${field}: expected INVALID_TOKEN, got ${String(error)}`,
              );
              assert.equal(error.field, field);
              return true;
            });
            await rejectsWith(store.findToken(token), ErrorCode.INVALID_TOKEN);
          }
        }
        assert.deepEqual(await store.getTokens(), []);
        // A pair is one character (🙂), not a lone half: accepted and found again exactly.
        const paired = full({ userSignature: 'smile\ud83d\ude42@example.com' });
        await store.saveToken(paired);
        assertSame(await store.findToken(new OAuthToken({ userSignature: 'smile🙂@example.com' })), paired);
        assert.equal(await store.findTokenById(`${paired.id}\ud800`), null);
        await store.deleteToken(`${paired.id}\ud800`);
        assert.equal((await store.getTokens()).length, 1);
      });

      test('after close every call fails with STORE_CLOSED and close is idempotent', async (store) => {
        await store.saveToken(full());
        await store.close();
        await store.close();
        await rejectsWith(store.getTokens(), ErrorCode.STORE_CLOSED);
        await rejectsWith(store.findTokenById('1'), ErrorCode.STORE_CLOSED);
        await rejectsWith(store.saveToken(full()), ErrorCode.STORE_CLOSED);
      });
    });

    describe('hostile values', () => {
      for (const [label, value] of HOSTILE_VALUES) {
        test(`${label} is stored and found exactly in every field, without touching other rows`, async (store) => {
          const victim = full();
          await store.saveToken(victim);
          const hostile = new OAuthToken({
            userSignature: `${value}@user`,
            clientId: `${value}#client`,
            clientSecret: `${value}#secret`,
            refreshToken: `${value}#refresh`,
            accessToken: `${value}#access`,
            grantToken: `${value}#grant`,
            redirectUrl: `${value}#redirect`,
            apiDomain: `${value}#api`,
            accountsUrl: `${value}#accounts`,
            expiresAt: 1_700_000_000_000,
          });
          await store.saveToken(hostile);
          assertSame(await store.findTokenById(hostile.id!), hostile);
          const { clientId, clientSecret } = hostile;
          assertSame(
            await store.findToken(new OAuthToken({ clientId, clientSecret, userSignature: hostile.userSignature })),
            hostile,
          );
          assertSame(
            await store.findToken(new OAuthToken({ clientId, clientSecret, refreshToken: hostile.refreshToken })),
            hostile,
          );
          assertSame(
            await store.findToken(new OAuthToken({ clientId, clientSecret, grantToken: hostile.grantToken })),
            hostile,
          );
          assertSame(await store.findToken(new OAuthToken({ accessToken: hostile.accessToken })), hostile);
          await store.saveToken(new OAuthToken({ id: hostile.id, accessToken: `${value}#access2` }));
          assert.equal((await store.findTokenById(hostile.id!))!.accessToken, `${value}#access2`);
          assertSame(await store.findTokenById(victim.id!), victim);
          assert.equal((await store.getTokens()).length, 2);
        });
      }
    });

    describe('lifecycle', () => {
      runner.it(
        'close() waits for a save in progress, which completes; later calls fail with STORE_CLOSED',
        async () => {
          const store = await options.create();
          const token = full();
          const saving = store.saveToken(token);
          const closing = store.close();
          await saving;
          await closing;
          assert.match(String(token.id), /^\d{1,10}$/, 'the save in progress completed');
          await rejectsWith(store.findTokenById(token.id!), ErrorCode.STORE_CLOSED);
          await rejectsWith(store.saveToken(full()), ErrorCode.STORE_CLOSED);
          await store.close();
          if (options.reopen) {
            const again = await options.reopen(store);
            try {
              assertSame(await again.findTokenById(token.id!), token, 'the save close() waited for was kept');
            } finally {
              await again.close();
            }
          }
        },
      );

      runner.it(
        'ready(), when the store has it, resolves while open and is idempotent; after close it fails with STORE_CLOSED',
        async () => {
          const store = await options.create();
          if (store.ready === undefined) {
            await store.close();
            return;
          }
          try {
            await store.ready();
            await store.ready();
            const token = full();
            await store.saveToken(token);
            assertSame(await store.findTokenById(token.id!), token);
          } finally {
            await store.close();
          }
          await rejectsWith(store.ready(), ErrorCode.STORE_CLOSED);
        },
      );

      if (options.injected) {
        const injected = options.injected;
        runner.it('closing a store never closes the client, pool or database it was given', async () => {
          const { store, stillOpen, dispose } = await injected();
          try {
            const token = full();
            await store.saveToken(token);
            assertSame(await store.findTokenById(token.id!), token);
            await store.close();
            await store.close();
            await rejectsWith(store.getTokens(), ErrorCode.STORE_CLOSED);
            await stillOpen();
          } finally {
            await dispose();
          }
        });
      }
    });

    if (options.reopen) {
      const reopen = options.reopen;
      describe('persistence', () => {
        runner.it('saves, updates and deletes survive close and reopen', async () => {
          const store = await options.create();
          const kept = full();
          const updated = full();
          const deleted = full();
          try {
            for (const t of [kept, updated, deleted]) await store.saveToken(t);
            await store.saveToken(new OAuthToken({ id: updated.id, accessToken: 'after-update', expiresAt: 7 }));
            await store.deleteToken(deleted.id!);
          } finally {
            await store.close();
          }
          const again = await reopen(store);
          try {
            assertSame(await again.findTokenById(kept.id!), kept);
            assert.equal((await again.findTokenById(updated.id!))!.accessToken, 'after-update');
            assert.equal(await again.findTokenById(deleted.id!), null);
            const next = full();
            await again.saveToken(next);
            assert.ok(![kept.id, updated.id, deleted.id].includes(next.id), 'ids must not be reused after reopen');
          } finally {
            await again.close();
          }
        });
      });
    }
  });
}
