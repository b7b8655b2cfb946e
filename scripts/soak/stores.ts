import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FileStore, SqliteStore, type TokenStore } from 'zoho-token-store';
import type { StoreKind } from './config.js';
import { TcpProxy } from './tcp-proxy.js';

/** How a worker opens one store (serializable: it crosses the IPC channel). */
export type StoreSpec =
  | { kind: 'sqlite' | 'file'; filename: string }
  | { kind: 'postgres' | 'mysql'; url: string; table: string }
  | { kind: 'redis'; url: string; prefix: string };

const SERVERS = {
  postgres: { host: '127.0.0.1', port: 5432, url: (port: number) => `postgres://postgres@127.0.0.1:${port}/test` },
  mysql: { host: '127.0.0.1', port: 3306, url: (port: number) => `mysql://root@127.0.0.1:${port}/test` },
  redis: { host: '127.0.0.1', port: 6379, url: (port: number) => `redis://127.0.0.1:${port}` },
} as const;

// Small pools: workers × stores × pool must stay well under PostgreSQL's 100 connections.
const POOL_SIZE = 2;

/** One shared store of the soak: the workers' spec (through the proxy), the harness's own direct connection, and cleanup. */
export interface SoakStore {
  readonly kind: StoreKind;
  /** What workers open: server stores go through `proxy`. */
  readonly spec: StoreSpec;
  /** The harness's own connection, never cut: logins and checkpoints. */
  readonly direct: TokenStore;
  /** undefined for the file-based stores (nothing to cut). */
  readonly proxy: TcpProxy | undefined;
  /** Closes the connection and proxy, drops tables / keys / files. */
  drop(): Promise<void>;
}

/** Creates the store's schema (unique names per run) and its proxy. */
export async function createSoakStore(kind: StoreKind, dir: string, tag: string): Promise<SoakStore> {
  const table = `zts_soak_${tag}_${kind}`;
  switch (kind) {
    case 'sqlite':
    case 'file': {
      const sub = join(dir, kind);
      mkdirSync(sub, { recursive: true });
      const filename = join(sub, kind === 'sqlite' ? 'tokens.db' : 'sdk_tokens.txt');
      const direct = kind === 'sqlite' ? new SqliteStore({ filename }) : new FileStore({ filename });
      return {
        kind,
        spec: { kind, filename },
        direct,
        proxy: undefined,
        drop: async () => {
          await direct.close();
          rmSync(sub, { recursive: true, force: true });
        },
      };
    }
    case 'postgres': {
      const proxy = await TcpProxy.start(SERVERS.postgres);
      const { PostgresStore } = await import('zoho-token-store/postgres');
      const direct = new PostgresStore({
        url: SERVERS.postgres.url(SERVERS.postgres.port),
        table,
        poolSize: POOL_SIZE,
      });
      await direct.ready();
      return {
        kind,
        spec: { kind, url: SERVERS.postgres.url(proxy.port), table },
        direct,
        proxy,
        drop: async () => {
          await direct.close();
          await proxy.close();
          const pg = (await import('pg')).default;
          const admin = new pg.Client({ connectionString: SERVERS.postgres.url(SERVERS.postgres.port) });
          await admin.connect();
          await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_meta", "${table}_lock" CASCADE`);
          await admin.end();
        },
      };
    }
    case 'mysql': {
      const proxy = await TcpProxy.start(SERVERS.mysql);
      const { MySqlStore } = await import('zoho-token-store/mysql');
      const direct = await MySqlStore.open({
        url: SERVERS.mysql.url(SERVERS.mysql.port),
        table,
        connectionLimit: POOL_SIZE,
      });
      return {
        kind,
        spec: { kind, url: SERVERS.mysql.url(proxy.port), table },
        direct,
        proxy,
        drop: async () => {
          await direct.close();
          await proxy.close();
          const mysql = (await import('mysql2/promise')).default;
          const admin = await mysql.createConnection({ uri: SERVERS.mysql.url(SERVERS.mysql.port) });
          await admin.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_meta\`, \`${table}_lock\``);
          await admin.end();
        },
      };
    }
    case 'redis': {
      const proxy = await TcpProxy.start(SERVERS.redis);
      const prefix = `${table}:`;
      const { RedisStore } = await import('zoho-token-store/redis');
      const direct = new RedisStore({ url: SERVERS.redis.url(SERVERS.redis.port), prefix });
      return {
        kind,
        spec: { kind, url: SERVERS.redis.url(proxy.port), prefix },
        direct,
        proxy,
        drop: async () => {
          await direct.close();
          await proxy.close();
          await deleteRedisKeys(SERVERS.redis.url(SERVERS.redis.port), prefix);
        },
      };
    }
  }
}

/** Opens a store in a worker; the harness created the schema, so workers never create tables. */
export async function openWorkerStore(spec: StoreSpec): Promise<TokenStore> {
  switch (spec.kind) {
    case 'sqlite':
      return new SqliteStore({ filename: spec.filename });
    case 'file':
      return new FileStore({ filename: spec.filename });
    case 'postgres': {
      const { PostgresStore } = await import('zoho-token-store/postgres');
      return new PostgresStore({
        url: spec.url,
        table: spec.table,
        poolSize: POOL_SIZE,
        createTable: false,
        connectTimeoutMs: 2_000,
      });
    }
    case 'mysql': {
      const { MySqlStore } = await import('zoho-token-store/mysql');
      return MySqlStore.open({ url: spec.url, table: spec.table, connectionLimit: POOL_SIZE, createTable: false });
    }
    case 'redis': {
      const { RedisStore } = await import('zoho-token-store/redis');
      return new RedisStore({ url: spec.url, prefix: spec.prefix, timeoutMs: 2_000 });
    }
  }
}

async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
}
