import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  ErrorCode,
  FileStore,
  MemoryStore,
  OAuthToken,
  SqliteStore,
  ZohoTokenError,
  isZohoTokenError,
  openStore,
} from 'zoho-token-store';
import { tempDir } from './helpers/temp.js';
import { loadDriver } from '../src/stores/kit/load-driver.js';

/** Opens the store at `url` and reads it once: some bad URLs surface at open, others at first use. */
async function openAndRead(url: string): Promise<void> {
  const store = await openStore(url);
  try {
    await store.getTokens();
  } finally {
    await store.close();
  }
}

const dir = tempDir('open-store');

describe('openStore', () => {
  it('opens memory: and sqlite URLs into the right stores', async () => {
    const memory = await openStore('memory:');
    assert.ok(memory instanceof MemoryStore);
    const inMemory = await openStore('sqlite::memory:');
    assert.ok(inMemory instanceof SqliteStore);
    assert.equal(inMemory.filename, ':memory:');
    const file = await openStore(`sqlite:${dir}/a b.db`);
    assert.ok(file instanceof SqliteStore);
    assert.equal(file.filename, `${dir}/a b.db`);
    assert.ok(existsSync(`${dir}/a b.db`));
    const triple = await openStore(`sqlite://${dir}/c%20d.db`);
    assert.equal((triple as SqliteStore).filename, `${dir}/c d.db`);
    const tokenFile = await openStore(`file:${dir}/sdk_tokens.txt`);
    assert.ok(tokenFile instanceof FileStore);
    assert.equal(tokenFile.filename, `${dir}/sdk_tokens.txt`);
    for (const store of [memory, inMemory, file, triple, tokenFile]) {
      const token = new OAuthToken({ clientId: 'c', clientSecret: 's', refreshToken: 'r', accessToken: 'a' });
      await store.saveToken(token);
      assert.equal((await store.findTokenById(token.id!))?.refreshToken, 'r');
      await store.close();
    }
  });

  it('refuses unknown schemes with the list of known ones, without echoing the URL', async () => {
    for (const url of [
      'mongodb://user:hunter2@host/db',
      'nothing',
      '',
      'sqlite:',
      'memory:extra',
      'sqlite://host/db',
      'file:',
      'file://host/x',
    ]) {
      await assert.rejects(
        openStore(url),
        (error: unknown) => {
          assert.ok(error instanceof ZohoTokenError);
          assert.equal(error.code, ErrorCode.INVALID_STORE_URL);
          assert.ok(!error.message.includes('hunter2'));
          return true;
        },
        url,
      );
    }
    await assert.rejects(
      openStore('mongodb://x'),
      /known: memory:, sqlite:, file:, postgres:, postgresql:, redis:, rediss:, redis\+cluster:, rediss\+cluster:, redis\+sentinel:, rediss\+sentinel:, mysql:, mariadb:/,
    );
    await assert.rejects(openStore(42 as unknown as string), { code: ErrorCode.INVALID_STORE_URL });
  });

  it('with mustExist, a missing sqlite: or file: store is STORE_NOT_FOUND and no file is created', async () => {
    for (const url of [
      `sqlite:${dir}/mistyped.db`,
      `sqlite://${dir}/mistyped2.db`,
      `file:${dir}/mistyped_tokens.txt`,
    ]) {
      await assert.rejects(
        openStore(url, { mustExist: true }),
        (error: unknown) => {
          assert.ok(error instanceof ZohoTokenError, String(error));
          assert.equal(error.code, ErrorCode.STORE_NOT_FOUND);
          assert.match(error.message, /does not exist/);
          return true;
        },
        url,
      );
    }
    for (const name of ['mistyped.db', 'mistyped.db-wal', 'mistyped.db-shm', 'mistyped2.db', 'mistyped_tokens.txt']) {
      assert.ok(!existsSync(`${dir}/${name}`), `${name} was created`);
    }
    assert.throws(() => new SqliteStore({ filename: `${dir}/mistyped3.db`, mustExist: true }), {
      code: ErrorCode.STORE_NOT_FOUND,
    });
    assert.ok(!existsSync(`${dir}/mistyped3.db`));
    assert.throws(() => new SqliteStore({ filename: `${dir}/mistyped3.db`, mustExist: 'yes' as unknown as boolean }), {
      code: ErrorCode.INVALID_ARGUMENT,
      field: 'mustExist',
    });
    await assert.rejects(openStore('memory:', { mustExist: 1 as unknown as boolean }), {
      code: ErrorCode.INVALID_ARGUMENT,
    });
    // Existing ones open as usual; stores without a file ignore the option.
    const created = await openStore(`sqlite:${dir}/exists.db`);
    await created.saveToken(new OAuthToken({ clientId: 'c', clientSecret: 's', refreshToken: 'r' }));
    await created.close();
    const file = await openStore(`file:${dir}/exists_tokens.txt`);
    await file.saveToken(new OAuthToken({ clientId: 'c', clientSecret: 's', refreshToken: 'r' }));
    await file.close();
    for (const url of [`sqlite:${dir}/exists.db`, `file:${dir}/exists_tokens.txt`, 'memory:', 'sqlite::memory:']) {
      const store = await openStore(url, { mustExist: true });
      assert.equal((await store.getTokens()).length, url.includes('exists') ? 1 : 0, url);
      await store.close();
    }
  });
});

describe('openStore with server URLs', () => {
  it('opens postgres://, mysql:// and redis:// stores that work', async (t) => {
    const { skipUnlessReachable, MARIADB, POSTGRES, REDIS } = await import('./helpers/services.js');
    const mysql = await import('mysql2/promise');
    const pg = await import('pg');
    const database = `zts_open_${process.pid}`;
    const urls: string[] = [];
    if (!(await skipUnlessReachable(POSTGRES))) {
      const admin = new pg.default.Client({ host: '127.0.0.1', user: 'postgres', database: 'test' });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      await admin.end();
      t.after(async () => {
        const c = new pg.default.Client({ host: '127.0.0.1', user: 'postgres', database: 'test' });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        await c.end();
      });
      urls.push(`postgres://postgres@127.0.0.1:5432/${database}`);
    }
    if (!(await skipUnlessReachable(MARIADB))) {
      const admin = await mysql.createConnection({ host: '127.0.0.1', user: 'root' });
      await admin.query(`CREATE DATABASE ${database}`);
      t.after(async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${database}`);
        await admin.end();
      });
      urls.push(`mysql://root@127.0.0.1:3306/${database}`);
    }
    if (!(await skipUnlessReachable(REDIS))) urls.push('redis://127.0.0.1:6379/9');
    for (const url of urls) {
      const store = await openStore(url);
      const token = new OAuthToken({
        clientId: 'c',
        clientSecret: 's',
        refreshToken: `r-${process.pid}`,
        accessToken: 'a',
        userSignature: `${process.pid}@open-store`,
      });
      await store.saveToken(token);
      assert.equal(
        (await store.findToken(new OAuthToken({ clientId: 'c', userSignature: `${process.pid}@open-store` })))
          ?.refreshToken,
        `r-${process.pid}`,
        url,
      );
      await store.deleteToken(token.id!);
      assert.equal(await store.findTokenById(token.id!), null);
      await store.close();
    }
  });

  it('refuses bad query values and database numbers of server URLs with INVALID_STORE_URL, without echoing a password', async (t) => {
    const { skipUnlessReachable, MARIADB, POSTGRES, REDIS } = await import('./helpers/services.js');
    const urls: string[] = [];
    if (!(await skipUnlessReachable(MARIADB))) {
      for (const query of [
        'ssl=notjson',
        'ssl=%7B',
        'charset=NOPE',
        'connectTimeout=abc',
        'bogusOption=1',
        'multipleStatements=maybe',
      ]) {
        urls.push(`mysql://root:hunter2@127.0.0.1:3306/test?${query}`);
      }
    } else t.diagnostic('MariaDB not reachable: mysql cases skipped');
    if (!(await skipUnlessReachable(POSTGRES))) {
      for (const query of [
        'sslmode=bogus',
        'ssl=notjson',
        'ssl=false',
        'connect_timeout=abc',
        'statement_timeout=-1',
        'sslrootcert=/nonexistent/ca.pem',
      ]) {
        urls.push(`postgres://postgres:hunter2@127.0.0.1:5432/test?${query}`);
      }
      urls.push('postgres://postgres:hunter2@127.0.0.1:99999/test');
    } else t.diagnostic('PostgreSQL not reachable: postgres cases skipped');
    if (!(await skipUnlessReachable(REDIS))) {
      // /1000000: a database number the server does not have (16 by default) is found at first use,
      // before any command could run in database 0.
      for (const rest of ['/abc', '/-1', '/1.5', '/99999999999', '/0?db=x', '?db=3x', '/0?family=abc', '/1000000']) {
        urls.push(`redis://:hunter2@127.0.0.1:6379${rest}`);
      }
    } else t.diagnostic('Redis not reachable: redis cases skipped');
    for (const url of urls) {
      await assert.rejects(
        openAndRead(url),
        (error: unknown) => {
          assert.ok(error instanceof ZohoTokenError, `${url}: ${String(error)}`);
          assert.equal(error.code, ErrorCode.INVALID_STORE_URL, `${url}: ${error.code} ${error.message}`);
          assert.ok(!error.message.includes('hunter2'), error.message);
          assert.ok(!String(error.cause).includes('hunter2'), String(error.cause));
          return true;
        },
        url,
      );
    }
  });

  it('refuses malformed server URLs, at open or at first use, without echoing a password', async () => {
    for (const url of [
      'postgres://user:hunter2@[bad',
      'mysql://root:hunter2@127.0.0.1:3306',
      'redis://:hunter2@[bad',
    ]) {
      await assert.rejects(openAndRead(url), (error: unknown) => {
        assert.ok(error instanceof ZohoTokenError, url);
        assert.ok(!error.message.includes('hunter2'), error.message);
        assert.ok(!String(error.cause).includes('hunter2'), String(error.cause));
        return true;
      });
    }
  });
});

describe('optional drivers', () => {
  it('a missing driver is DRIVER_MISSING naming the package to install (not the module path) and the other way out', () => {
    for (const [specifier, pkg] of [
      ['no-such-driver-zts/promise', 'no-such-driver-zts'],
      ['@no-such-scope-zts/driver/sub', '@no-such-scope-zts/driver'],
    ] as const) {
      assert.throws(
        () => loadDriver(specifier, 'SomeStore', 'your own client as `client`'),
        (error: unknown) => {
          assert.ok(isZohoTokenError(error, ErrorCode.DRIVER_MISSING));
          assert.equal(
            error.message,
            `SomeStore needs the "${pkg}" package: run \`npm install ${pkg}\`, or pass your own client as \`client\``,
          );
          return true;
        },
      );
    }
  });
});
