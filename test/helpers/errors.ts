import assert from 'node:assert/strict';
import { inspect } from 'node:util';
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

/** Asserts that `error` is a ZohoTokenError and that no view of it or of its cause shows any of `secrets`. */
export function assertNoSecrets(error: unknown, secrets: readonly string[]): asserts error is ZohoTokenError {
  assert.ok(error instanceof ZohoTokenError, `expected a ZohoTokenError, got ${String(error)}`);
  const cause = error.cause as Error | undefined;
  const shown = [
    error.message,
    error.stack,
    String(cause),
    cause?.stack,
    JSON.stringify(error),
    JSON.stringify(cause),
    inspect(error, { depth: 10, showHidden: true }),
  ].join('\n');
  for (const secret of secrets) assert.ok(!shown.includes(secret), `secret ${secret} was echoed`);
}
