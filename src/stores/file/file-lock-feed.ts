import { watch } from 'node:fs';
import type { FeedSubscription, ReleaseFeed } from '../kit/lock-waiter.js';

/**
 * Lock releases by watching the directory of the token file (inotify on Linux, FSEvents on macOS):
 * a release removes the lock's directory, and the watch reports its name at once to every process
 * on this machine. The entry of any `.lock` name that changed is delivered (its creation too: a
 * waiter woken for nothing just finds the lock still taken). A watch does not keep the process
 * alive. Network file systems may not report other hosts' changes: the waiters' safety poll covers
 * those.
 */
export class FileLockFeed implements ReleaseFeed {
  readonly #directory: string;

  constructor(directory: string) {
    this.#directory = directory;
  }

  async start(onRelease: (name: string) => void, onLost: () => void): Promise<FeedSubscription> {
    const watcher = watch(this.#directory, { persistent: false }, (_event, name) => {
      if (typeof name === 'string' && name.endsWith('.lock')) onRelease(name);
    });
    let open = true;
    // The directory was removed or the watch failed: the waiters poll until the next wait restarts it.
    watcher.on('error', () => {
      if (!open) return;
      open = false;
      watcher.close();
      onLost();
    });
    return {
      stop: async () => {
        open = false;
        watcher.close();
      },
    };
  }
}
