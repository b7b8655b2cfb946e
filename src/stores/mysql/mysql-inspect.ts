import { loadDriver } from '../kit/load-driver.js';
import { storeErrors } from '../kit/store-errors.js';
import type { StoreInspection } from '../kit/store-inspection.js';
import { splitStoreUrl } from '../kit/store-url-options.js';
import { NOW_MS } from './mysql-lock.js';
import { quote } from './mysql-schema.js';

interface InspectConnection {
  execute(sql: string, values?: unknown[]): Promise<[Record<string, unknown>[], unknown]>;
  end(): Promise<void>;
}

/**
 * Reads the token and lock tables of a MySQL/MariaDB store (`url` as given to openStore, its store
 * options taken out) over one connection of its own, changing nothing. The store's invisible
 * generated columns (hashes, the numeric id) are left out; lease ends are compared with the
 * server's clock, as the store's locks do.
 */
export async function inspectMySql(url: string, table: string): Promise<StoreInspection> {
  const queryAt = url.indexOf('?');
  const base = queryAt === -1 ? url : url.slice(0, queryAt);
  const { driverQuery } = splitStoreUrl('mysql', 'mysql', queryAt === -1 ? '' : url.slice(queryAt + 1), {});
  const driver = loadDriver<{ createConnection(config: object): Promise<InspectConnection> }>(
    'mysql2/promise',
    'MySqlStore',
    'a MySQL store URL',
  );
  const password = URL.canParse(url) ? new URL(url).password : '';
  const fail = (error: unknown): never => {
    // The driver's message may hold the URL's password: scrubbed like the store's own errors.
    throw storeErrors('MySqlStore').wrap(
      error,
      'cannot inspect the schema',
      password ? [password, decodeURIComponent(password)] : [],
    );
  };
  const db = await driver.createConnection({ uri: `${base}${driverQuery}` }).catch(fail);
  const columnsOf = async (name: string): Promise<string[]> =>
    (
      await db.execute(
        'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ' +
          "AND EXTRA NOT LIKE '%INVISIBLE%' ORDER BY ORDINAL_POSITION",
        [name],
      )
    )[0].map((r) => String(r['name']));
  try {
    const lockColumns = await columnsOf(`${table}_lock`);
    const [rows] = lockColumns.includes('expires_at')
      ? await db.execute(`SELECT name, ${NOW_MS} - expires_at AS ago FROM ${quote(`${table}_lock`)}`)
      : [[]];
    return {
      columns: await columnsOf(table),
      lockColumns,
      locks: rows.length,
      expiredLocks: rows
        .map((r) => ({ name: String(r['name']), expiredForMs: Number(r['ago']) }))
        .filter((l) => l.expiredForMs >= 0),
    };
  } catch (error) {
    return fail(error);
  } finally {
    await db.end();
  }
}
