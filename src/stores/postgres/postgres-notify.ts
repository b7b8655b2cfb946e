import { createHash } from 'node:crypto';
import type { FeedSubscription, ReleaseFeed } from '../kit/lock-waiter.js';

/** The part of a `pg.Client` the release feed uses: its own connection, outside the pool. */
export interface ListenClient {
  connect(): Promise<unknown>;
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'notification', listener: (message: { channel: string; payload?: string | undefined }) => void): unknown;
  on(event: 'error' | 'end', listener: () => void): unknown;
}

/**
 * The NOTIFY channel of a lock table: a hash of its qualified name, so it always fits PostgreSQL's
 * 63-byte identifiers and needs no quoting beyond the double quotes of LISTEN.
 */
export function lockChannel(qualifiedLockTable: string): string {
  return `zts_lock_${createHash('sha256').update(qualifiedLockTable).digest('hex').slice(0, 32)}`;
}

/**
 * Lock releases by LISTEN/NOTIFY: a release sends `pg_notify(channel, name)` in the statement that
 * deletes the lock row, so the notification goes out when that delete commits, and one dedicated
 * connection per store (made on the first wait, never taken from the pool, ended when idle or on
 * close) listens. A pooler in transaction mode (PgBouncer) does not carry LISTEN: the waiters then
 * fall back on their safety poll.
 */
export class PostgresReleaseFeed implements ReleaseFeed {
  readonly #channel: string;
  readonly #connect: () => ListenClient;

  constructor(channel: string, connect: () => ListenClient) {
    this.#channel = channel;
    this.#connect = connect;
  }

  async start(onRelease: (name: string) => void, onLost: () => void): Promise<FeedSubscription> {
    const client = this.#connect();
    let open = true;
    const end = async (): Promise<void> => {
      if (!open) return;
      open = false;
      await client.end().catch(() => undefined);
    };
    const lost = (): void => {
      if (!open) return;
      void end();
      onLost();
    };
    // Without a listener an 'error' would crash the process; a dropped connection is a lost feed.
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => {
      if (message.channel === this.#channel && message.payload) onRelease(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.#channel}"`);
    } catch (error) {
      await end();
      throw error;
    }
    return { stop: end };
  }
}
