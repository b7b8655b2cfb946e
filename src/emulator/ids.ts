import { randomBytes, randomInt } from 'node:crypto';

/** `1000.<32 hex>.<32 hex>`: the shape of Zoho grant codes, access and refresh tokens. */
export function newTokenString(): string {
  return `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`;
}

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `1000.<30 upper alnum>`: the shape of Zoho client ids. */
export function newClientId(): string {
  let id = '1000.';
  for (let i = 0; i < 30; i++) id += UPPER_ALNUM[randomInt(UPPER_ALNUM.length)];
  return id;
}

/** 42 hex characters, like a Zoho client secret. */
export function newClientSecret(): string {
  return randomBytes(21).toString('hex');
}

/**
 * Zoho record/user/org ids are 18-19 digit numbers sent as strings. A per-instance counter keeps
 * them unique and ordered without any global state.
 */
export function createIdSequence(prefix = '5725767'): () => string {
  let next = 1;
  return () => `${prefix}${String(next++).padStart(12, '0')}`;
}
