import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeUrl } from '../src/cli/output.js';

describe('CLI output: store URLs as printed', () => {
  it('hides a password in the user info and in the query string', () => {
    assert.equal(safeUrl('postgres://app:hunter2@db:5432/tokens'), 'postgres://app:***@db:5432/tokens');
    assert.equal(safeUrl('postgres://app@db/tokens?password=hunter2&ssl=true'), 'postgres://app@db/tokens?***');
    assert.equal(safeUrl('mysql://root:pw@127.0.0.1/test?password=x'), 'mysql://root:***@127.0.0.1/test?***');
    assert.equal(safeUrl('sqlite:zohooauth.db'), 'sqlite:zohooauth.db');
    assert.equal(safeUrl('redis://127.0.0.1:6379/0'), 'redis://127.0.0.1:6379/0');
  });
});
