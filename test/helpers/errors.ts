import assert from 'node:assert/strict';
import { ZohoTokenError } from 'zoho-token-store';

/** Asserts that `promise` rejects with a ZohoTokenError of `code`; returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<ZohoTokenError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ZohoTokenError, `expected a ZohoTokenError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected a rejection with ${code}, but it resolved`);
}
