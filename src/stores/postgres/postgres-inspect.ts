import { loadDriver } from '../kit/load-driver.js';
import { storeErrors } from '../kit/store-errors.js';
import type { StoreInspection } from '../kit/store-inspection.js';
import { splitStoreUrl } from '../kit/store-url-options.js';
import { statements } from './postgres-schema.js';

interface InspectPool {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

interface PgModule {
  Pool: new (config: { connectionString: string; max: number; connectionTimeoutMillis: number }) => InspectPool;
}

/**
 * Reads the token and lock tables of a PostgreSQL store (`url` as given to openStore, its store
 * options taken out) over one connection of its own, changing nothing. Lease ends are compared
 * with the server's `clock_timestamp()`, as the store's locks do.
 */
export async function inspectPostgres(
  url: string,
  table: string,
  schema: string | undefined,
): Promise<StoreInspection> {
  const queryAt = url.indexOf('?');
  const base = queryAt === -1 ? url : url.slice(0, queryAt);
  const { driverQuery } = splitStoreUrl('postgres', 'postgres', queryAt === -1 ? '' : url.slice(queryAt + 1), {});
  const { Pool } = loadDriver<PgModule>('pg', 'PostgresStore', 'a PostgreSQL store URL');
  const pool = new Pool({ connectionString: `${base}${driverQuery}`, max: 1, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => {});
  const sql = statements(table, schema);
  const columnsOf = async (name: string): Promise<string[]> =>
    (
      await pool.query(
        'SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
        [name],
      )
    ).rows.map((r) => String(r['attname']));
  try {
    const lockColumns = await columnsOf(sql.lockTable);
    const rows = lockColumns.includes('expires_at')
      ? (
          await pool.query(
            `SELECT name, extract(epoch FROM clock_timestamp() - expires_at) * 1000 AS ago FROM ${sql.lockTable}`,
          )
        ).rows
      : [];
    return {
      columns: await columnsOf(sql.tableName),
      lockColumns,
      locks: rows.length,
      expiredLocks: rows
        .map((r) => ({ name: String(r['name']), expiredForMs: Math.round(Number(r['ago'])) }))
        .filter((l) => l.expiredForMs >= 0),
    };
  } catch (error) {
    // The driver's message may hold the URL's password: scrubbed like the store's own errors.
    const password = URL.canParse(url) ? new URL(url).password : '';
    throw storeErrors('PostgresStore').wrap(
      error,
      'cannot inspect the schema',
      password ? [password, decodeURIComponent(password)] : [],
    );
  } finally {
    await pool.end();
  }
}
