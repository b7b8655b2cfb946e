import { describe, it } from 'node:test';
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
  },
);
