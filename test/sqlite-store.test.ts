import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from 'zoho-token-store';
import { describeTokenStore } from 'zoho-token-store/testing';
import { tempDir } from './helpers/temp.js';

const dir = tempDir('sqlite-kit');
let n = 0;

describeTokenStore(
  { describe, it },
  { name: 'SqliteStore (:memory:)', create: () => new SqliteStore({ filename: ':memory:' }) },
);

describeTokenStore(
  { describe, it },
  {
    name: 'SqliteStore (file)',
    create: () => new SqliteStore({ filename: `${dir}/kit-${++n}.db` }),
    reopen: (store) => new SqliteStore({ filename: (store as SqliteStore).filename }),
    injected: () => {
      const db = new Database(`${dir}/kit-${++n}.db`);
      return {
        store: new SqliteStore({ database: db }),
        stillOpen: () => assert.equal((db.prepare('SELECT 1 AS one').get() as { one: number }).one, 1),
        dispose: () => db.close(),
      };
    },
  },
);
