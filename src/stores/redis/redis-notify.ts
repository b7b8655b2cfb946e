import type { FeedSubscription, ReleaseFeed } from '../kit/lock-waiter.js';

/** The part of an ioredis client in subscriber mode the release feed uses. */
export interface SubscriberClient {
  subscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  disconnect(): void;
}

/** A client that can open another connection with its own settings (ioredis's `duplicate()`). */
export interface DuplicableClient {
  /** ioredis: `Redis#duplicate(options)`; `Cluster#duplicate(startupNodes, options)`. */
  duplicate(...args: unknown[]): SubscriberClient;
  readonly isCluster?: boolean;
}

/** Whether `client` can open the subscriber connection (an ioredis `Redis` or `Cluster`). */
export function isDuplicable(client: unknown): client is DuplicableClient {
  return typeof (client as Partial<DuplicableClient> | null)?.duplicate === 'function';
}

/** The pub/sub channel of a store's lock releases: its key prefix, then `lock-released`. */
export function lockChannel(prefix: string): string {
  return `${prefix}lock-released`;
}

/**
 * Lock releases by pub/sub: a release publishes the lock's name on the store's channel in the
 * script that deletes the lock key, and a duplicate of the store's client (made on the first wait,
 * closed when idle or on close) subscribes to it. ioredis reconnects and subscribes again by itself;
 * what is published meanwhile is lost, which the waiters' safety poll covers.
 */
export class RedisReleaseFeed implements ReleaseFeed {
  readonly #channel: string;
  readonly #client: DuplicableClient;

  constructor(channel: string, client: DuplicableClient) {
    this.#channel = channel;
    this.#client = client;
  }

  async start(onRelease: (name: string) => void, onLost: () => void): Promise<FeedSubscription> {
    // No automatic resubscribe on a plain client: ioredis sends it after a reconnect with no
    // handler, so a connection that closes before the reply rejects it unhandled and the process
    // crashes (seen in a Sentinel failover). A lost connection ends this subscription instead:
    // the waiters poll, and the next wait opens another.
    const subscriber =
      this.#client.isCluster === true ? this.#client.duplicate() : this.#client.duplicate({ autoResubscribe: false });
    let open = true;
    const stop = async (): Promise<void> => {
      open = false;
      subscriber.disconnect();
    };
    // Errors reach nobody (the waiters poll meanwhile); without a listener they would crash the process.
    subscriber.on('error', () => {});
    subscriber.on('end', () => {
      if (open) onLost();
      open = false;
    });
    if (this.#client.isCluster !== true) {
      subscriber.on('close', () => {
        if (!open) return;
        onLost();
        void stop();
      });
    }
    subscriber.on('message', (channel, message) => {
      if (channel === this.#channel) onRelease(message);
    });
    try {
      await subscriber.subscribe(this.#channel);
    } catch (error) {
      await stop();
      throw error;
    }
    return { stop };
  }
}
