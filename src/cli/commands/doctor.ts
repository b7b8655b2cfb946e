import type { Command } from 'commander';
import { EncryptedStore } from '../../stores/encrypted.js';
import type { LockInspection, StoreInspection } from '../../stores/kit/store-inspection.js';
import type { TokenStore } from '../../stores/kit/token-store.js';
import { localStoreFile } from '../../stores/open-store.js';
import type { ContextOf } from '../command-context.js';
import { ErrorCode, isZohoTokenError } from '../../errors.js';
import type { OAuthToken } from '../../token/oauth-token.js';
import {
  check,
  clockCheck,
  clockOrigins,
  encryptionCheck,
  fileModeCheck,
  lockCheck,
  plural,
  readFileModes,
  schemaCheck,
  tokensCheck,
  trustCheck,
  type CheckResult,
  type CheckStatus,
} from '../doctor-checks.js';
import { ExitCode } from '../exit-codes.js';
import { safeUrl, StyledLine, type HumanLine, type Style } from '../output.js';

const skip = (name: string, detail: string): CheckResult => check(name, 'skip', detail);

const STATUS_STYLE: Record<CheckStatus, Style> = { ok: 'green', warn: 'yellow', fail: 'red', skip: 'gray' };

/** The schema and lock rows of the SQL backends that can be read without changing anything. */
async function inspect(
  store: TokenStore,
  url: string,
): Promise<{ what: string; table: string; inspection: StoreInspection } | undefined> {
  const { SqliteStore } = await import('../../stores/sqlite/sqlite-store.js');
  if (store instanceof SqliteStore && store.filename !== ':memory:') {
    const { inspectSqlite } = await import('../../stores/sqlite/sqlite-inspect.js');
    return { what: 'SQLite', table: store.table, inspection: inspectSqlite(store.filename, store.driver, store.table) };
  }
  const { PostgresStore } = await import('../../stores/postgres/postgres-store.js');
  if (store instanceof PostgresStore) {
    const { inspectPostgres } = await import('../../stores/postgres/postgres-inspect.js');
    const table = store.schema === undefined ? store.table : `${store.schema}.${store.table}`;
    return { what: 'PostgreSQL', table, inspection: await inspectPostgres(url, store.table, store.schema) };
  }
  const { MySqlStore } = await import('../../stores/mysql/mysql-store.js');
  if (store instanceof MySqlStore) {
    const { inspectMySql } = await import('../../stores/mysql/mysql-inspect.js');
    return { what: 'MySQL', table: store.table, inspection: await inspectMySql(url, store.table) };
  }
  return undefined;
}

/** Lock entries of the stores that have no schema to inspect (Redis). */
async function inspectLocks(store: TokenStore): Promise<LockInspection | undefined> {
  const { RedisStore } = await import('../../stores/redis/redis-store.js');
  if (!(store instanceof RedisStore)) return undefined;
  const { inspectRedisLocks } = await import('../../stores/redis/redis-inspect.js');
  return inspectRedisLocks(store.client, store.keyPrefix);
}

export function registerDoctor(program: Command, withGlobals: (c: Command) => Command, contextOf: ContextOf): void {
  withGlobals(program.command('doctor'))
    .description('Check the token store: schema, file modes, encryption, endpoints, clock, token health, locks')
    .option('--no-clock', 'skip the clock check (it sends one HEAD request to the accounts server)')
    .addHelpText(
      'after',
      `
Each check prints ok, warn, fail or skip, with a hint when it is not ok. Read-only: a missing store
is an error (exit code 5) and nothing is created. A SQLite file is opened as is; a token file
(file:) is made 0600 by its store when read, as by any reader, and reported as it was found. The clock is measured against --dc's accounts server, else against the
accounts servers the stored tokens name (only those the trust rules accept). Exit code 1 when any
check fails.

Examples:
  zoho-tokens doctor
  ZOHO_TOKEN_STORE_KEYS="k2:…,k1:…" zoho-tokens doctor --store postgres://app@db/zoho --dc EU --json`,
    )
    .action(async (options: { clock: boolean }, command: Command) => {
      const ctx = contextOf(command);
      const local = localStoreFile(ctx.storeUrl);
      const suffixes = local?.family === 'sqlite' ? ['', '-wal', '-shm'] : ['', '.journal', '.meta'];
      // Before opening: the store makes its files 0600, which would hide that they were not.
      const modes = local && (await readFileModes(suffixes.map((s) => `${local.filename}${s}`)));
      const store = await ctx.openExistingStore();
      const inner = store instanceof EncryptedStore ? store.store : store;
      const checks: CheckResult[] = [];
      const found = await inspect(inner, ctx.storeUrl);
      let raw: OAuthToken[] | undefined;
      try {
        raw = await inner.getTokens();
        checks.push(check('store', 'ok', `${safeUrl(ctx.storeUrl)} reachable, ${plural(raw.length, 'token')}`));
      } catch (error) {
        // One bad row fails the whole listing: say which, and skip what needs the rows.
        if (!isZohoTokenError(error, ErrorCode.CORRUPT_RECORD)) throw error;
        checks.push(
          check(
            'store',
            'fail',
            `${safeUrl(ctx.storeUrl)} reachable, but a row cannot be read: ${error.message}`,
            'fix or delete that row (zoho-tokens delete <id>, or SQL), then run doctor again',
          ),
        );
      }
      checks.push(
        found
          ? schemaCheck(found.what, found.table, found.inspection)
          : skip('schema', 'not inspected for this backend'),
      );
      checks.push(modes ? await fileModeCheck(modes) : skip('file-modes', 'not a local file store'));
      const configured = ctx.environment();
      const dcGiven = ctx.options.dc !== undefined || !!ctx.io.env['ZOHO_DC'];
      let counts: Record<string, number> | null = null;
      if (raw === undefined) {
        for (const name of ['encryption', 'endpoints', 'clock', 'tokens'])
          checks.push(skip(name, 'the rows could not be read'));
      } else {
        checks.push(await encryptionCheck(store instanceof EncryptedStore ? store : undefined, raw));
        checks.push(trustCheck(raw, configured));
        checks.push(
          options.clock
            ? await clockCheck(clockOrigins(raw, configured, dcGiven), fetch, 10_000)
            : skip('clock', 'skipped (--no-clock)'),
        );
        const tokens = tokensCheck(raw, Date.now());
        checks.push(tokens.result);
        counts = tokens.counts;
      }
      const locks = found?.inspection ?? (await inspectLocks(inner));
      checks.push(locks ? lockCheck(locks) : skip('locks', 'locks not inspected for this backend'));
      const summary = { ok: 0, warn: 0, fail: 0, skip: 0 };
      for (const c of checks) summary[c.status]++;
      ctx.out.result(
        () => {
          const width = Math.max(...checks.map((c) => c.name.length));
          const lines: HumanLine[] = [];
          for (const c of checks) {
            lines.push(
              new StyledLine([
                { text: c.status.toUpperCase().padEnd(5), style: STATUS_STYLE[c.status] },
                { text: ` ${c.name.padEnd(width)}  ${c.detail}` },
              ]),
            );
            if (c.hint !== null && c.status !== 'ok') lines.push(`${' '.repeat(width + 8)}hint: ${c.hint}`);
          }
          lines.push(`${summary.ok} ok, ${summary.warn} warn, ${summary.fail} fail, ${summary.skip} skipped.`);
          return lines;
        },
        () => ({ ok: summary.fail === 0, summary, tokens: counts, checks }),
      );
      if (summary.fail > 0) ctx.exitCode = ExitCode.ERROR;
    });
}
