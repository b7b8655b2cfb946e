import { createHash } from 'node:crypto';
import type { Environment } from 'zoho-token-store';
import type { StoreSpec } from './stores.js';

// The IPC protocol between the harness and its worker processes. Tokens never cross it in clear:
// only short SHA-256 digests, matched against the emulator's records by the harness.

export interface WorkerStore {
  readonly spec: StoreSpec;
  readonly environment: Environment;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly users: readonly string[];
}

export interface InitMessage {
  readonly type: 'init';
  readonly worker: number;
  readonly seed: number;
  /** Added to the emulator time for this worker's ZohoAuth clock. */
  readonly skewMs: number;
  readonly stores: readonly WorkerStore[];
}

export interface StepMessage {
  readonly type: 'step';
  readonly step: number;
  /** Emulator time, frozen for the whole step. */
  readonly now: number;
  readonly calls: number;
  /** Arms a SIGKILL of this process while its next refresh request on this store is in flight. */
  readonly dieOnRefresh: number | null;
}

export type ToWorker = InitMessage | StepMessage | { readonly type: 'exit' };

/** One token handed to the application: returned by getAccessToken or sent to the API. */
export type Handout = readonly [store: number, user: number, digest: string];

export interface StepDone {
  readonly type: 'done';
  readonly step: number;
  readonly handouts: readonly Handout[];
  /** Users each store's calls touched this step. */
  readonly touched: readonly (readonly number[])[];
  /** Failed calls by store, `CODE` → count (after the application's own retries). */
  readonly errors: readonly Record<string, number>[];
  readonly calls: number;
}

export type FromWorker =
  | { readonly type: 'ready' }
  | StepDone
  /** About to SIGKILL itself with this refresh token's request in flight. */
  | { readonly type: 'dying'; readonly store: number; readonly refreshDigest: string }
  | { readonly type: 'failed'; readonly message: string };

/** 16 hex characters of SHA-256: unique enough for a day's tokens, useless to an attacker. */
export function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}
