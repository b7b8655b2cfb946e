import assert from 'node:assert/strict';
import { ErrorCode, type TokenStore } from 'zoho-token-store';
import { uniqueSecretsToken } from './tokens.js';

/**
 * Rows an older version or another writer left under ids of other shapes, as `[id, access token]`.
 * Each backend seeds them its own raw way (SQL, CSV); what the store must then do is one rule.
 */
export const ODD_ID_ROWS: readonly (readonly [string, string])[] = [
  [' 9999999', 'a1'],
  ['12ab', 'a2'],
  ['+77', 'a3'],
  ['5', 'a4'],
];

/**
 * With ODD_ID_ROWS stored: only plain-digit ids count for numbering (the next id is 6), such rows
 * stay reachable by their exact id and by no other, a non-canonical new id is refused, and deleting
 * one of them does not move the numbering.
 */
export async function assertOddIdsLeaveNumberingAlone(store: TokenStore, clientId: string): Promise<void> {
  const next = uniqueSecretsToken('odd-1', { clientId });
  await store.saveToken(next);
  assert.equal(next.id, '6');
  assert.deepEqual((await store.getTokens()).map((t) => t.id).sort(), [' 9999999', '+77', '12ab', '5', '6']);
  assert.equal((await store.findTokenById(' 9999999'))?.accessToken, 'a1');
  assert.equal(await store.findTokenById('5 '), null);
  await store.deleteToken('5 ');
  assert.equal((await store.findTokenById('5'))?.accessToken, 'a4');
  await assert.rejects(store.saveToken(uniqueSecretsToken('odd-2', { clientId, id: '5 ' })), {
    code: ErrorCode.INVALID_TOKEN,
    field: 'id',
  });
  await store.deleteToken(' 9999999');
  const after = uniqueSecretsToken('odd-3', { clientId });
  await store.saveToken(after);
  assert.equal(after.id, '7');
}
