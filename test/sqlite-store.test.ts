import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SqliteStore } from 'zoho-token-store';
import { describeTokenStore } from 'zoho-token-store/testing';
import { SQLITE_DRIVERS, openRaw } from './helpers/sqlite-drivers.js';
import { tempDir } from './helpers/temp.js';

const dir = tempDir('sqlite-kit');
let n = 0;

// The whole kit on every driver this runtime has (node:sqlite on Node ≥ 22.13, better-sqlite3 where it loads).
for (const driver of SQLITE_DRIVERS) {
  describeTokenStore(
    { describe, it },
    { name: `SqliteStore (:memory:, ${driver})`, create: () => new SqliteStore({ filename: ':memory:', driver }) },
  );

  describeTokenStore(
    { describe, it },
    {
      name: `SqliteStore (file, ${driver})`,
      create: () => new SqliteStore({ filename: `${dir}/kit-${++n}.db`, driver }),
      reopen: (store) => new SqliteStore({ filename: (store as SqliteStore).filename, driver }),
      injected: () => {
        const db = openRaw(driver, `${dir}/kit-${++n}.db`);
        return {
          store: new SqliteStore({ database: db.native }),
          stillOpen: () => assert.equal(db.value('SELECT 1 AS one'), 1),
          dispose: () => db.close(),
        };
      },
    },
  );
}
