/**
 * `zoho-token-store/redis`: {@link RedisStore}, tokens in Redis, for fleets and serverless; needs
 * the `ioredis` package. Options, key layout, locking and limits: docs/stores/redis.md.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, ZohoTokenError } from '../../errors.js';
import type { OAuthToken } from '../../token/oauth-token.js';
import { tokenFromRecord, type TokenRecord } from '../../token/token-record.js';
import { loadDriver } from '../kit/load-driver.js';
import { secretsOf, storeErrors } from '../kit/store-errors.js';
import { StoreLifecycle } from '../kit/store-lifecycle.js';
import {
  checkId,
  findMatch,
  nextId,
  numericId,
  planSaveAsync,
  snapshotToken,
  type LookupValues,
} from '../kit/matching.js';
import { RedisLock } from './redis-lock.js';
import { isDuplicable, lockChannel, RedisReleaseFeed } from './redis-notify.js';
import { DEFAULT_SAFETY_POLL_MS, LockWaiter } from '../kit/lock-waiter.js';
import { APPLY, OBSERVE, type ScriptClient } from './redis-scripts.js';
import { checkRedisUrl } from '../kit/server-url-options.js';
import { isTopologyUrl, parseTopologyUrl, type RedisNode, type RedisTopology } from './redis-topology-url.js';
import { COLUMNS, recordToRow, rowToRecord } from '../kit/columns.js';
import type { StoreLock, TokenStore } from '../kit/token-store.js';
import {
  assignIds,
  checkBatchSize,
  checkIds,
  compareIds,
  distinctIds,
  inIdOrder,
  pagesOfIds,
  planBatch,
  snapshotBatch,
  type IterateTokensOptions,
} from '../kit/store-paging.js';
import { backoffMs } from '../kit/backoff.js';

const errors = storeErrors('RedisStore');
const STORE_NAME = errors.name;
const DEFAULT_URL = 'redis://127.0.0.1:6379';
const MAX_PREFIX_LENGTH = 100;

/**
 * The part of an ioredis `Redis` client the store uses, typed structurally so that `ioredis` is
 * loaded (through `loadDriver`) only when the store creates its own client from a `url`.
 */
export interface RedisClientLike {
  /** Sends one command (ioredis's `call`): the store's scripts and reads go through it. */
  call(command: string, args: (string | number)[]): Promise<unknown>;
  /** `true` on an ioredis `Cluster`: the store then puts all its keys under one hash tag. */
  readonly isCluster?: boolean;
  /** The client's options: the store refuses a client with a `keyPrefix`. */
  readonly options?: {
    /** ioredis's key prefix: must be unset (the store's `prefix` option does that job). */
    readonly keyPrefix?: string | undefined;
  };
}

/** Options of {@link RedisStore}; every one has a default. */
export interface RedisStoreOptions {
  /**
   * Where Redis is: `redis://[[user]:password@]host[:port][/db]`, or `rediss://…` for TLS; a Redis
   * Cluster: `redis+cluster://[[user]:password@]host:port,host:port…` (seed nodes); a Sentinel
   * deployment: `redis+sentinel://[[user]:password@]host:26379,host:26379…/<master name>[/db]`
   * (`rediss+…` for TLS). The store creates an ioredis client for it (ioredis must be installed)
   * and quits it in `close()`. Give `url` or `client`, not both.
   * @default 'redis://127.0.0.1:6379' (when no `client` is given)
   */
  url?: string;
  /**
   * An ioredis `Redis` client (standalone or Sentinel) or `Cluster` you built yourself. The store
   * uses it as is and never quits it. It
   * must not have a `keyPrefix` (use `prefix`); its own timeouts and retries apply to its commands,
   * and the store's `timeoutMs` still bounds every store call.
   */
  client?: RedisClientLike;
  /**
   * Start of every key the store writes, so several applications (or environments) can share one
   * Redis. 1-100 printable ASCII characters without spaces or glob characters (`* ? [ ] \`). On a
   * Cluster every key starts with `{prefix}` (a hash tag) and the prefix must not hold `{` or `}`.
   * @default 'zoho-token-store:'
   */
  prefix?: string;
  /**
   * Longest time one store call may take before it fails with STORE_ERROR, in ms. Also the connect
   * and command timeout of the client the store creates from `url`.
   * @default 5000
   */
  timeoutMs?: number;
  /**
   * Waiters for a held lock are woken by pub/sub on the channel `<prefix>lock-released`, through a
   * duplicate of the client (opened on the first wait, closed after 10 s without waiters and in
   * `close()`); this is how long, in ms, a waiter waits for a message before checking the lock
   * anyway: the safety net for a lost one (a lease that ran out, a reconnect). A `client` without
   * `duplicate()` is polled instead.
   * @default 1000
   */
  lockPollMs?: number;
}

/** The client the store creates from a URL: also closable. */
interface OwnClient extends RedisClientLike {
  readonly status: string;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'end', listener: () => void): unknown;
}

type RedisConstructor = new (url: string | Record<string, unknown>, options?: Record<string, unknown>) => OwnClient;
type ClusterConstructor = new (nodes: RedisNode[], options: Record<string, unknown>) => OwnClient;

type IndexName = 'refresh' | 'grant' | 'access' | 'user';
/** Lookup fields with an index key each: a string (one id) for unique ones, a set of ids otherwise. */
const INDEXES: readonly { field: keyof LookupValues & keyof TokenRecord; name: IndexName; kind: 's' | 'm' }[] = [
  { field: 'refreshToken', name: 'refresh', kind: 's' },
  { field: 'grantToken', name: 'grant', kind: 's' },
  { field: 'accessToken', name: 'access', kind: 'm' },
  { field: 'userName', name: 'user', kind: 'm' },
];

/**
 * Tokens in Redis (standalone, Sentinel or Cluster), shared by every process that uses the same
 * server and prefix. Key layout, with `P` the prefix (`{prefix}` on a Cluster, see below):
 *
 * - `P token:<id>`: a hash per token, fields named like the official columns (`user_name`,
 *   `refresh_token`, `expiry_time` as decimal epoch ms, …; an absent field is null) plus `revision`;
 * - `P idx:refresh:<sha256>` and `P idx:grant:<sha256>` → the id holding that value;
 *   `P idx:access:<sha256>` and `P idx:user:<sha256>` → a set of ids. Hashing keeps secrets out of
 *   key names and makes any value (64 KiB, NUL) a short key; the hash's real value decides a match;
 * - `P ids`: the set of all ids; `P last-id`: the highest id handed out (never reused);
 *   `P revision`: a write counter; `P lock:<name>`: locks.
 *
 * Reads are single Lua scripts (atomic snapshots). Writes are optimistic: read the candidates, let
 * matching.ts plan, then one Lua script checks that every key the plan was made from is unchanged
 * and writes it, else the save starts over. Unlike WATCH/MULTI this holds no per-connection state,
 * so concurrent saves can share one connection (even the caller's), and a script that ioredis
 * re-sends after a reconnect cannot write twice: its check fails and the save re-plans.
 *
 * On a Cluster every key of a store carries the hash tag `{prefix}`, so all of them sit in one hash
 * slot and every script above runs unchanged. Spreading one store's tokens over slots would split
 * what a save must check and write atomically (the no-duplicate rules span all tokens: one refresh
 * token, grant token or id, whoever the user) across masters, where no script or transaction can
 * reach; a store is small (about 1 KiB a token), so stores spread by prefix instead (one per
 * application, tenant or environment), each on the master owning its slot. Standalone keys keep
 * their names; a Cluster store is a new layout (copy tokens over with `zoho-tokens migrate`).
 * docs/stores/redis.md discusses the trade-off.
 */
export class RedisStore implements TokenStore {
  /** Start of every key the store writes (`prefix` option). */
  readonly prefix: string;
  /** Longest time one store call may take, in ms (`timeoutMs` option). */
  readonly timeoutMs: number;
  /**
   * Leased locks as keys (`<prefix>lock:<name>`, taken with `SET … NX PX <leaseMs>`), so Redis
   * itself expires a crashed holder's lock, on the server's clock. Releasing deletes the key only
   * while it still holds this owner's random id. Lock names (at most 1024 characters) appear in
   * key names: no secrets in them.
   */
  readonly lock: StoreLock;
  readonly #client: RedisClientLike;
  readonly #ownClient: OwnClient | null;
  readonly #waiter: LockWaiter;
  /** The database number of `url` (0 with a `client`: that one is the caller's business). */
  readonly #database: number = 0;
  #databaseCheck: Promise<void> | undefined;
  readonly #keys: Keys;
  /** Whether the keys carry the `{prefix}` hash tag (a Cluster). */
  readonly #cluster: boolean;
  readonly #lifecycle = new StoreLifecycle(errors);

  /**
   * Checks the options and, without `client`, creates an ioredis client for `url` (loading
   * `ioredis`).
   *
   * @throws `ZohoTokenError`: `INVALID_ARGUMENT` for a bad option or URL, or a `client` with a
   *   `keyPrefix` (`field` names it; the message never holds the URL's password); `DRIVER_MISSING`
   *   when the store must create the client and `ioredis` is not installed.
   */
  constructor(options: RedisStoreOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw errors.invalid('options', 'options must be an object');
    }
    this.prefix = checkPrefix(options.prefix ?? 'zoho-token-store:');
    this.timeoutMs = errors.integer(options.timeoutMs, 'timeoutMs', 1, 5000);
    if (options.client !== undefined && options.url !== undefined) {
      throw errors.invalid('client', 'give a url or a client, not both');
    }
    if (options.client !== undefined) {
      if (typeof options.client?.call !== 'function') {
        throw errors.invalid('client', 'client must be an ioredis Redis client');
      }
      this.#client = options.client;
      this.#ownClient = null;
      this.#cluster = options.client.isCluster === true;
      checkClusterPrefix(this.prefix, this.#cluster);
    } else {
      const url = options.url ?? DEFAULT_URL;
      if (typeof url === 'string' && isTopologyUrl(url)) {
        const topology = parseTopologyUrl(url);
        this.#database = topology.db;
        this.#cluster = topology.kind === 'cluster';
        checkClusterPrefix(this.prefix, this.#cluster);
        this.#ownClient = createTopologyClient(topology, this.timeoutMs);
      } else {
        if (typeof url !== 'string' || !/^rediss?:\/\//i.test(url)) {
          // URLs carry passwords: never echo one.
          throw errors.invalid(
            'url',
            'url must start with redis://, rediss://, redis+cluster://, rediss+cluster://, redis+sentinel:// or rediss+sentinel://',
          );
        }
        this.#database = checkRedisUrl(url);
        this.#cluster = false;
        this.#ownClient = createClient(url, this.timeoutMs);
      }
      this.#client = this.#ownClient;
    }
    if (this.client.options?.keyPrefix) {
      // Our scripts build token keys from ids; a client-side prefix would apply to some keys only.
      this.#ownClient?.disconnect();
      throw errors.invalid('client', 'the client must not have a keyPrefix: use the prefix option');
    }
    this.#keys = new Keys(this.keyPrefix);
    const lockPollMs = errors.integer(options.lockPollMs, 'lockPollMs', 1, DEFAULT_SAFETY_POLL_MS);
    const channel = lockChannel(this.keyPrefix);
    const client = this.#client;
    this.#waiter = new LockWaiter(isDuplicable(client) ? new RedisReleaseFeed(channel, client) : undefined, {
      safetyMs: lockPollMs,
    });
    this.lock = new RedisLock(
      (what, operation) => this.#run(what, [], () => operation(this.client)),
      `${this.keyPrefix}lock:`,
      channel,
      this.#waiter,
    );
  }

  /**
   * The start of every key name: the prefix, or `{prefix}` on a Cluster (a hash tag: every key of
   * the store in one slot, so each script's keys are on one master).
   */
  get keyPrefix(): string {
    return this.#cluster ? `{${this.prefix}}` : this.prefix;
  }

  /**
   * The connection in use: the `client` you passed, or the one made from `url`. A getter, so that
   * even an inspect that skips custom inspectors does not walk into it; the client made from `url`
   * shows no password either (see `createClient`).
   */
  get client(): RedisClientLike {
    return this.#client;
  }

  /** The client's options hold the server password: never in logs, JSON or `inspect`. */
  toJSON(): {
    /** `'RedisStore'`. */
    store: string;
    /** The key prefix. */
    prefix: string;
  } {
    return { store: STORE_NAME, prefix: this.prefix };
  }

  /** What `util.inspect` and `console.log` show: the store's name and prefix, never the client. */
  [inspect.custom](): string {
    return `${STORE_NAME} ${JSON.stringify({ prefix: this.prefix })}`;
  }

  async findToken(token: OAuthToken): Promise<OAuthToken | null> {
    this.#lifecycle.assertOpen();
    const snapshot = snapshotToken(token, 'findToken');
    const found = await this.#run('cannot find a token', secretsOf(snapshot), () =>
      findMatch(snapshot, (values) => this.#candidates(values)),
    );
    return found && tokenFromRecord(found);
  }

  async saveToken(token: OAuthToken): Promise<void> {
    this.#lifecycle.assertOpen();
    const snapshot = snapshotToken(token, 'saveToken');
    const secrets = secretsOf(snapshot);
    token.id = await this.#run('cannot save a token', secrets, async (deadline) => {
      for (let attempt = 0; ; attempt++) {
        const id = await this.#trySave(snapshot, secrets);
        if (id !== null) return id;
        await backOff(attempt, deadline);
      }
    });
  }

  /**
   * Saves the tokens in order as `saveToken` would, with one read of every candidate and one
   * atomic write script for the whole batch (optimistic, like a single save). When another writer
   * keeps changing what the batch read, or a token is refused, the batch is saved token by token,
   * which gives `saveToken`'s outcome for each.
   */
  async saveTokens(tokens: readonly OAuthToken[]): Promise<void> {
    this.#lifecycle.assertOpen();
    const snapshots = snapshotBatch(tokens);
    if (snapshots.length === 0) return;
    const secrets = snapshots.flatMap((snapshot) => secretsOf(snapshot));
    const ids = await this.#run('cannot save tokens', secrets, async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const written = await this.#trySaveBatch(snapshots, secrets);
          if (written !== null) return written;
        } catch (error) {
          if (error instanceof ZohoTokenError) return null;
          throw error;
        }
      }
      return null;
    });
    if (ids !== null) {
      assignIds(tokens, ids);
      return;
    }
    for (const token of tokens) await this.saveToken(token);
  }

  /** The tokens with these ids, in that order (`null` where none), with one atomic read. */
  async findTokensById(ids: readonly string[]): Promise<(OAuthToken | null)[]> {
    this.#lifecycle.assertOpen();
    const keys = checkIds(ids);
    const wanted = distinctIds(keys);
    if (wanted.length === 0) return keys.map(() => null);
    const records = await this.#run('cannot find tokens', [], () => this.#observe([], wanted));
    return inIdOrder(keys, records).map((record) => record && tokenFromRecord(record));
  }

  /**
   * Every token, page by page, in id order; see {@link TokenStore.iterateTokens}. The ids are
   * listed once at the start (a few bytes per token); each page then reads its tokens atomically.
   */
  async *iterateTokens(options?: IterateTokensOptions): AsyncGenerator<OAuthToken[]> {
    this.#lifecycle.assertOpen();
    const size = checkBatchSize(options);
    const ids = await this.#run('cannot list tokens', [], async () => {
      const members = await this.client.call('SMEMBERS', [this.#keys.ids]);
      if (!Array.isArray(members)) throw badReply();
      return members.map(String).sort(compareIds);
    });
    yield* pagesOfIds(ids, size, async (page) =>
      (await this.#run('cannot list tokens', [], () => this.#observe([], page))).map(tokenFromRecord),
    );
  }

  /** One optimistic attempt at a batch: each token's id, or null when another writer interfered. */
  async #trySaveBatch(snapshots: readonly OAuthToken[], secrets: string[]): Promise<string[] | null> {
    const seen = new Observed();
    const plan = await planBatch(
      snapshots,
      (values) => {
        const keys = new Map<string, IndexKey>();
        for (const v of values) {
          for (const index of INDEXES) {
            const value = v[index.field];
            if (value === null) continue;
            const key = this.#keys.index(index.name, value);
            keys.set(key, { key, kind: index.kind });
          }
        }
        const ids = new Set(values.flatMap((v) => (v.id === null ? [] : [v.id])));
        return this.#observe([...keys.values()], [...ids], seen);
      },
      async () => {
        // The counter must not move before the write: checked like every key read.
        const last = await this.client.call('GET', [this.#keys.lastId]);
        seen.note(this.#keys.lastId, 's', last === null ? '' : String(last));
        return last === null ? 0 : Number(last);
      },
    );
    let largestNew = 0;
    for (const { record, previous } of plan.writes) {
      secrets.push(...secretsOf(record));
      if (previous === null) {
        const key = this.#keys.token(record.id);
        if (!seen.has(key)) seen.note(key, 'h', '');
        largestNew = Math.max(largestNew, numericId(record.id) ?? 0);
      }
    }
    const tx = new Transaction(this.#keys, seen);
    for (const { record, previous } of plan.writes) this.#writeToken(tx, seen, record, previous);
    if (largestNew > 0) tx.op('max', this.#keys.lastId, String(largestNew));
    return (await tx.apply(this.client)) ? plan.ids : null;
  }

  async deleteToken(id: string): Promise<void> {
    this.#lifecycle.assertOpen();
    const key = checkId(id, 'deleteToken');
    if (key === null) return;
    await this.#run('cannot delete a token', [], async (deadline) => {
      for (let attempt = 0; ; attempt++) {
        const seen = new Observed();
        const [record] = await this.#observe([], [key], seen);
        if (record === undefined) return;
        const tx = new Transaction(this.#keys, seen);
        tx.op('del', this.#keys.token(record.id));
        for (const index of INDEXES) {
          const value = record[index.field];
          if (value !== null)
            tx.op(index.kind === 's' ? 'delif' : 'srem', this.#keys.index(index.name, value), record.id);
        }
        tx.op('srem', this.#keys.ids, record.id);
        if (await tx.apply(this.client)) return;
        await backOff(attempt, deadline);
      }
    });
  }

  async getTokens(): Promise<OAuthToken[]> {
    this.#lifecycle.assertOpen();
    const records = await this.#run('cannot list tokens', [], () =>
      this.#observe([{ key: this.#keys.ids, kind: 'm' }], []),
    );
    return records.sort(byId).map(tokenFromRecord);
  }

  async deleteTokens(): Promise<void> {
    this.#lifecycle.assertOpen();
    await this.#run('cannot delete the tokens', [], async (deadline) => {
      for (let attempt = 0; ; attempt++) {
        // One atomic delete of a snapshot: if a token was added or changed meanwhile, start over.
        const seen = new Observed();
        const records = await this.#observe([{ key: this.#keys.ids, kind: 'm' }], [], seen);
        const tx = new Transaction(this.#keys, seen);
        for (const record of records) {
          tx.op('del', this.#keys.token(record.id));
          for (const index of INDEXES) {
            const value = record[index.field];
            if (value !== null) tx.op('del', this.#keys.index(index.name, value));
          }
        }
        tx.op('del', this.#keys.ids);
        if (await tx.apply(this.client)) return;
        await backOff(attempt, deadline);
      }
    });
  }

  async findTokenById(id: string): Promise<OAuthToken | null> {
    this.#lifecycle.assertOpen();
    const key = checkId(id, 'findTokenById');
    if (key === null) return null;
    const [record] = await this.#run('cannot find a token', [], () => this.#observe([], [key]));
    return record ? tokenFromRecord(record) : null;
  }

  /** Connects and checks the database (a PING), so that a misconfiguration shows at start-up; idempotent. */
  ready(): Promise<void> {
    return this.#run('cannot connect', [], async () => void (await this.client.call('PING', [])));
  }

  /** `close()`, for `await using store = …`: the store is closed when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Waits for the calls in progress, then quits the connection if the store made it. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close(async () => {
      await this.#waiter.close();
      await this.#quit();
    });
  }

  async #quit(): Promise<void> {
    const client = this.#ownClient;
    if (client === null || client.status === 'end') return;
    if (client.status !== 'ready') {
      // Never connected (or reconnecting): QUIT would wait for a connection that may never come.
      client.disconnect();
      return;
    }
    // Resolve only once the socket is closed, so a process can exit right after close().
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    try {
      await withTimeout(client.quit(), this.timeoutMs);
      await withTimeout(ended, this.timeoutMs);
    } catch {
      // Server unreachable: QUIT would wait for a reconnect; drop the socket instead.
      client.disconnect();
    }
  }

  /** One optimistic attempt: the id written, or null when another writer changed what it read. */
  async #trySave(snapshot: OAuthToken, secrets: string[]): Promise<string | null> {
    const seen = new Observed();
    const plan = await planSaveAsync(snapshot, (values) => this.#candidates(values, seen));
    const record = { ...plan.record };
    secrets.push(...secretsOf(record));
    if (plan.kind === 'insert' && plan.needsId) {
      // INCR hands out each number once, whatever happens next; a retried insert skips a number.
      const last = await this.client.call('INCR', [this.#keys.lastId]);
      record.id = nextId(Number(last) - 1);
      seen.note(this.#keys.token(record.id), 'h', '');
    }
    const previous = plan.kind === 'update' ? plan.previous : null;
    const tx = new Transaction(this.#keys, seen);
    this.#writeToken(tx, seen, record, previous);
    const explicit = plan.kind === 'insert' && !plan.needsId ? numericId(record.id) : null;
    if (explicit !== null) tx.op('max', this.#keys.lastId, String(explicit));
    return (await tx.apply(this.client)) ? record.id : null;
  }

  /** Adds one token's hash, its index changes against `previous` and its id to `tx`. */
  #writeToken(tx: Transaction, seen: Observed, record: TokenRecord, previous: TokenRecord | null): void {
    tx.put(this.#keys.token(record.id), recordToHash(record));
    for (const index of INDEXES) {
      const before = previous?.[index.field] ?? null;
      const after = record[index.field];
      if (before === after) continue;
      if (before !== null)
        tx.op(index.kind === 's' ? 'delif' : 'srem', this.#keys.index(index.name, before), record.id);
      if (after === null) continue;
      const key = this.#keys.index(index.name, after);
      if (index.kind === 's' && !seen.has(key)) {
        // matching.ts looks up every unique value a save writes; taking one unchecked could steal it.
        throw new ZohoTokenError(ErrorCode.STORE_ERROR, `${STORE_NAME}: internal error: unchecked ${index.name} index`);
      }
      tx.op(index.kind === 's' ? 'set' : 'sadd', key, record.id);
    }
    tx.op('sadd', this.#keys.ids, record.id);
  }

  #candidates(values: LookupValues, seen?: Observed): Promise<TokenRecord[]> {
    const keys: IndexKey[] = [];
    for (const index of INDEXES) {
      const value = values[index.field];
      if (value !== null) keys.push({ key: this.#keys.index(index.name, value), kind: index.kind });
    }
    return this.#observe(keys, values.id === null ? [] : [values.id], seen);
  }

  /** Reads index keys and the tokens they (and `ids`) point at, noting what it saw for a later check. */
  async #observe(keys: readonly IndexKey[], ids: readonly string[], seen?: Observed): Promise<TokenRecord[]> {
    const reply = await OBSERVE.run(
      this.client,
      [this.#keys.token(''), ...keys.map((k) => k.key)],
      [...keys.map((k) => k.kind), ...ids],
    );
    const [prints, rows] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (!Array.isArray(prints) || !Array.isArray(rows)) throw badReply();
    keys.forEach(({ key, kind }, i) => seen?.note(key, kind, String(prints[i])));
    const records: TokenRecord[] = [];
    for (const row of rows as unknown[]) {
      const [id, flat] = Array.isArray(row) ? (row as unknown[]) : [];
      if (typeof id !== 'string' || !Array.isArray(flat)) throw badReply();
      const hash = hashFields(flat);
      seen?.note(this.#keys.token(id), 'h', flat.length === 0 ? '' : String(hash['revision'] ?? '0'));
      if (flat.length === 0) continue;
      const record = rowToRecord(hash);
      if (record.id !== id) {
        throw new ZohoTokenError(
          ErrorCode.CORRUPT_RECORD,
          `Stored token ${JSON.stringify(id)} holds the id ${JSON.stringify(record.id)}`,
        );
      }
      records.push(record);
    }
    return records;
  }

  /** Runs one store call: typed errors with the call's secrets scrubbed, and a bounded duration. */
  #run<T>(what: string, secrets: readonly string[], operation: (deadline: number) => Promise<T>): Promise<T> {
    return this.#lifecycle.run(async () => {
      const deadline = Date.now() + this.timeoutMs;
      try {
        return await withTimeout(
          this.#databaseChecked().then(() => operation(deadline)),
          this.timeoutMs,
        );
      } catch (error) {
        throw errors.wrap(error, what, secrets);
      }
    });
  }

  /**
   * ioredis selects the URL's database on connect, but when the server has no such database it only
   * emits an error and carries on in database 0: a mistyped `/99` would read and write another
   * database. So before its first command the store selects it once more and waits for the answer.
   */
  #databaseChecked(): Promise<void> {
    if (this.#database === 0) return Promise.resolve();
    this.#databaseCheck ??= this.#client.call('SELECT', [this.#database]).then(
      () => undefined,
      (error: unknown) => {
        if (error instanceof Error && error.name === 'ReplyError') {
          throw new ZohoTokenError(
            ErrorCode.INVALID_STORE_URL,
            `${STORE_NAME}: the URL names database ${this.#database}, which this Redis server refuses (${error.message})`,
          );
        }
        this.#databaseCheck = undefined; // not an answer (connection lost): ask again next time
        throw error;
      },
    );
    return this.#databaseCheck;
  }
}

interface IndexKey {
  key: string;
  kind: 's' | 'm';
}

/** Key names under one prefix. */
class Keys {
  readonly ids: string;
  readonly lastId: string;
  readonly revision: string;

  constructor(readonly prefix: string) {
    this.ids = `${prefix}ids`;
    this.lastId = `${prefix}last-id`;
    this.revision = `${prefix}revision`;
  }

  token(id: string): string {
    return `${this.prefix}token:${id}`;
  }

  index(name: IndexName, value: string): string {
    return `${this.prefix}idx:${name}:${createHash('sha256').update(value, 'utf8').digest('hex')}`;
  }
}

/** What one attempt read, key by key (the first reading wins): the preconditions of its write. */
class Observed {
  readonly #seen = new Map<string, { kind: 'h' | 's' | 'm'; print: string }>();

  note(key: string, kind: 'h' | 's' | 'm', print: string): void {
    if (!this.#seen.has(key)) this.#seen.set(key, { kind, print });
  }

  has(key: string): boolean {
    return this.#seen.has(key);
  }

  entries(): IterableIterator<[string, { kind: 'h' | 's' | 'm'; print: string }]> {
    return this.#seen.entries();
  }
}

/** Builds the arguments of the APPLY script: the checks, then the operations (see its comment). */
class Transaction {
  readonly #keys: string[];
  readonly #slots = new Map<string, number>();
  readonly #checks: string[] = [];
  readonly #ops: string[] = [];

  constructor(keys: Keys, seen: Observed) {
    this.#keys = [keys.revision];
    for (const [key, { kind, print }] of seen.entries()) this.#checks.push(this.#slot(key), kind, print);
  }

  put(key: string, fields: string[]): void {
    this.#ops.push('put', this.#slot(key), String(fields.length / 2), ...fields);
  }

  op(name: 'del' | 'sadd' | 'srem' | 'set' | 'delif' | 'max', key: string, value?: string): void {
    this.#ops.push(name, this.#slot(key));
    if (name !== 'del') this.#ops.push(value!);
  }

  async apply(client: ScriptClient): Promise<boolean> {
    const done = await APPLY.run(client, this.#keys, [String(this.#checks.length / 3), ...this.#checks, ...this.#ops]);
    return done === 1;
  }

  #slot(key: string): string {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      this.#keys.push(key);
      this.#slots.set(key, (slot = this.#keys.length));
    }
    return String(slot);
  }
}

function createClient(url: string, timeoutMs: number): OwnClient {
  const driver = loadDriver<{ Redis?: RedisConstructor; default?: RedisConstructor }>(
    'ioredis',
    STORE_NAME,
    'a `client`',
  );
  const Redis = driver.Redis ?? driver.default ?? (driver as unknown as RedisConstructor);
  let client: OwnClient;
  try {
    client = new Redis(url, {
      // Fail a command after one failed reconnect instead of queueing it for ~20: a bounded,
      // typed STORE_ERROR, and the next call works as soon as the server is back.
      maxRetriesPerRequest: 1,
      commandTimeout: timeoutMs,
      connectTimeout: timeoutMs,
      connectionName: 'zoho-token-store',
    });
  } catch {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'url is not a valid redis:// or rediss:// URL', {
      field: 'url',
    });
  }
  // Connection errors reach callers through their commands; without a listener ioredis would also
  // print every reconnect failure to stderr.
  client.on('error', () => {});
  hidePassword(client);
  return client;
}

/**
 * A Cluster or Sentinel client. Unlike the standalone client, commands wait (queued, retried) through
 * a failover, which takes a few seconds, rather than failing after one reconnect; `timeoutMs` still
 * bounds every store call.
 */
function createTopologyClient(topology: RedisTopology, timeoutMs: number): OwnClient {
  const driver = loadDriver<{ Redis?: RedisConstructor; Cluster?: ClusterConstructor; default?: RedisConstructor }>(
    'ioredis',
    STORE_NAME,
    'a `client`',
  );
  const Redis = driver.Redis ?? driver.default ?? (driver as unknown as RedisConstructor);
  const Cluster = driver.Cluster ?? (Redis as unknown as { Cluster?: ClusterConstructor }).Cluster;
  const auth: Record<string, unknown> = {};
  if (topology.username !== undefined) auth['username'] = topology.username;
  if (topology.password !== undefined) auth['password'] = topology.password;
  const node = {
    ...auth,
    ...(topology.tls ? { tls: {} } : {}),
    commandTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    connectionName: 'zoho-token-store',
    // Reconnect quickly and keep the command queued meanwhile: a failover is then a pause.
    maxRetriesPerRequest: 20,
    retryStrategy: (times: number) => Math.min(times * 50, 500),
  };
  let client: OwnClient;
  if (topology.kind === 'cluster') {
    if (Cluster === undefined)
      throw new ZohoTokenError(ErrorCode.DRIVER_MISSING, `${STORE_NAME}: this ioredis has no Cluster`);
    client = new Cluster(topology.nodes, {
      redisOptions: node,
      // A command to a master that died is re-sent, after a slot refresh, every 100 ms while a
      // replica takes over: 100 tries outlast any timeoutMs up to 10 s.
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      maxRedirections: 100,
      clusterRetryStrategy: (times: number) => Math.min(times * 100, 1000),
    });
  } else {
    client = new Redis({
      ...node,
      sentinels: topology.nodes,
      name: topology.name,
      db: topology.db,
      ...(topology.sentinelUsername === undefined ? {} : { sentinelUsername: topology.sentinelUsername }),
      ...(topology.sentinelPassword === undefined ? {} : { sentinelPassword: topology.sentinelPassword }),
      ...(topology.tls ? { enableTLSForSentinelMode: true } : {}),
      sentinelRetryStrategy: (times: number) => Math.min(times * 100, 1000),
      // No failoverDetector: its Sentinel connections outlive quit() (ioredis 5.x) and keep the
      // process alive; a killed master drops our connection anyway, and the reconnect asks the Sentinels.
    });
  }
  client.on('error', () => {});
  hidePassword(client);
  return client;
}

/** On a Cluster the prefix is a hash tag `{prefix}`: a brace in it would end the tag early. */
function checkClusterPrefix(prefix: string, cluster: boolean): void {
  if (cluster && /[{}]/.test(prefix)) {
    throw new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, 'on a Redis Cluster the prefix must not contain { or }', {
      field: 'prefix',
    });
  }
}

/**
 * ioredis keeps the URL's password in `client.options` (and, once connected, in
 * `client.condition`), which `util.inspect` and `JSON.stringify` of the client print. The client
 * and its options get inspect and JSON forms without it; ioredis still reads the password itself.
 */
function hidePassword(client: OwnClient): void {
  const options = (client as unknown as { options?: Record<string, unknown> }).options;
  if (options === undefined) return;
  // A Cluster's node options (`redisOptions`) hold the password one level down.
  const masked = (from: Record<string, unknown>): Record<string, unknown> => {
    const shown: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(from)) {
      shown[key] =
        /password/i.test(key) && value
          ? '***'
          : key === 'redisOptions' && value !== null && typeof value === 'object'
            ? masked(value as Record<string, unknown>)
            : value;
    }
    return shown;
  };
  const safeOptions = (): Record<string, unknown> => masked(options);
  const kind = client.isCluster === true ? 'Cluster' : 'Redis';
  const where = (): string =>
    client.isCluster === true
      ? 'cluster'
      : options['sentinels']
        ? `sentinel master ${String(options['name'])}/${String(options['db'] ?? 0)}`
        : options['path']
          ? String(options['path'])
          : `${String(options['host'])}:${String(options['port'])}/${String(options['db'] ?? 0)}`;
  const hidden = (value: unknown): PropertyDescriptor => ({
    value,
    enumerable: false,
    configurable: true,
    writable: true,
  });
  Object.defineProperties(options, {
    toJSON: hidden(safeOptions),
    [inspect.custom]: hidden((_depth: number, inspectOptions: object) => inspect(safeOptions(), inspectOptions)),
  });
  Object.defineProperties(client, {
    toJSON: hidden(() => ({ client: kind, status: client.status, options: safeOptions() })),
    [inspect.custom]: hidden(() => `${kind} { ${where()} ${client.status}, password hidden }`),
  });
}

/** Non-empty, short, printable, no spaces, and no glob characters so `SCAN MATCH '<prefix>*'` works. */
function checkPrefix(prefix: unknown): string {
  if (
    typeof prefix !== 'string' ||
    !/^[!-~]+$/.test(prefix) ||
    /[*?[\]\\]/.test(prefix) ||
    prefix.length > MAX_PREFIX_LENGTH
  ) {
    throw new ZohoTokenError(
      ErrorCode.INVALID_ARGUMENT,
      `prefix must be 1-${MAX_PREFIX_LENGTH} printable ASCII characters without spaces or * ? [ ] \\`,
      { field: 'prefix' },
    );
  }
  return prefix;
}

function recordToHash(record: TokenRecord): string[] {
  const fields: string[] = [];
  recordToRow(record).forEach((value, i) => {
    if (value !== null) fields.push(COLUMNS[i]!, value);
  });
  return fields;
}

function hashFields(flat: unknown[]): Record<string, unknown> {
  const hash: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[String(flat[i])] = flat[i + 1];
  return hash;
}

function byId(a: TokenRecord, b: TokenRecord): number {
  const x = numericId(a.id);
  const y = numericId(b.id);
  if (x !== null && y !== null) return x - y;
  if (x !== null || y !== null) return x !== null ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Short jittered pause after losing a race; gives up (STORE_ERROR) at the call's deadline. */
async function backOff(attempt: number, deadline: number): Promise<void> {
  const left = deadline - Date.now();
  if (left <= 0) throw new ZohoTokenError(ErrorCode.STORE_ERROR, `${STORE_NAME}: too many concurrent writers, gave up`);
  await sleep(Math.min(left, backoffMs(attempt, { baseMs: 1, capMs: 50 })));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  // The operation may still settle after the timeout; nobody is waiting for it then.
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function badReply(): ZohoTokenError {
  return new ZohoTokenError(ErrorCode.STORE_ERROR, `${STORE_NAME}: unexpected reply from Redis`);
}
