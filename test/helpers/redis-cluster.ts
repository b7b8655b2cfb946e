// Private Redis deployments for tests: a Redis Cluster (3 masters + 3 replicas) and a Sentinel
// set-up (1 master + 1 replica + 3 Sentinels), each started from redis-server on free loopback
// ports with its files in a temporary directory; `close()` kills exactly the processes started
// here and removes the directory. The shared Redis on 6379 is never touched.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HOST = '127.0.0.1';

/** Why the topology tests cannot run here, or false: redis-server and redis-cli are needed. */
export function skipUnlessRedisServer(): string | false {
  if (process.env['ZTS_SKIP_REDIS_TOPOLOGY'] === '1') return 'ZTS_SKIP_REDIS_TOPOLOGY=1 (run on another pass of CI)';
  const found = ['redis-server', 'redis-cli'].every((bin) => spawnSync(bin, ['--version']).status === 0);
  if (found) return false;
  if (process.env['CI'] === 'true') throw new Error('redis-server and redis-cli are needed under CI=true');
  return 'redis-server or redis-cli is not installed';
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

const taken = new Set<number>();

/** A free port whose cluster bus port (+10000) is free too. */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10000))) {
      taken.add(port);
      taken.add(port + 10000);
      return port;
    }
  }
}

/** Answers of `redis-cli -p <port> <args…>`, or '' when the server does not answer. */
export async function cli(port: number, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('redis-cli', ['-h', HOST, '-p', String(port), ...args], { timeout: 5000 });
    return stdout;
  } catch {
    return '';
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`gave up waiting for ${what}`);
    await sleep(100);
  }
}

/** Processes started by one harness, killed and cleaned up together. */
class Processes {
  readonly dir = mkdtempSync(join(tmpdir(), 'zts-redis-topology-'));
  readonly byPort = new Map<number, ChildProcess>();
  // Should the test process die without its cleanup, its servers die with it.
  readonly #onExit = (): void => {
    for (const child of this.byPort.values()) child.kill('SIGKILL');
  };

  constructor() {
    process.once('exit', this.#onExit);
  }

  start(port: number, args: string[]): void {
    const child = spawn('redis-server', [...args, '--logfile', join(this.dir, `redis-${port}.log`)], {
      stdio: 'ignore',
    });
    child.on('error', () => {});
    this.byPort.set(port, child);
  }

  /** SIGKILLs the server on `port` (one this harness started) and waits for its exit. */
  async kill(port: number): Promise<void> {
    const child = this.byPort.get(port);
    if (child === undefined) throw new Error(`no server of this harness on port ${port}`);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.byPort.keys()].map((port) => this.kill(port)));
    process.removeListener('exit', this.#onExit);
    if (process.env['ZTS_KEEP_REDIS_LOGS'] !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}

const serverArgs = (dir: string, port: number): string[] => [
  '--port',
  String(port),
  '--bind',
  HOST,
  '--dir',
  dir,
  '--save',
  '',
  '--appendonly',
  'no',
  '--daemonize',
  'no',
];

export interface RedisCluster {
  /** `redis+cluster://…` naming every master and replica. */
  readonly url: string;
  readonly ports: readonly number[];
  /** The port of the master that now serves `key`'s slot. */
  masterOf(key: string): Promise<number>;
  /** SIGKILLs one node of this cluster. */
  kill(port: number): Promise<void>;
  /** The ports of the masters that are up, as a live node reports them. */
  masters(): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * 3 masters and 3 replicas on free ports, `cluster-node-timeout` 1 s so that a killed master's
 * replica takes over within about 2 s. Resolves once every node reports `cluster_state:ok` and
 * every replica is in sync with its master.
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const processes = new Processes();
  try {
    const ports: number[] = [];
    for (let i = 0; i < 6; i++) ports.push(await freePort());
    for (const port of ports) {
      processes.start(port, [
        ...serverArgs(processes.dir, port),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(processes.dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '1000',
        // A replica may take over whatever its last contact with the master: the tests kill
        // masters on purpose and want the failover, not the safety margin.
        '--cluster-replica-validity-factor',
        '0',
      ]);
    }
    for (const port of ports)
      await until(`redis-server on ${port}`, async () => (await cli(port, 'PING')).includes('PONG'));
    await run(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
      { timeout: 30_000 },
    );
    for (const port of ports) {
      await until(`cluster_state:ok on ${port}`, async () =>
        (await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
      );
    }
    // A replica still in its first sync cannot take over: wait until each has its master's data.
    for (const port of ports) {
      await until(`node ${port} a master or a replica in sync`, async () => {
        const info = await cli(port, 'INFO', 'replication');
        return info.includes('role:master') || info.includes('master_link_status:up');
      });
    }
    const live = async (): Promise<number> => {
      for (const port of ports) if ((await cli(port, 'PING')).includes('PONG')) return port;
      throw new Error('no node of the cluster answers');
    };
    const masters = async (): Promise<number[]> =>
      (await cli(await live(), 'CLUSTER', 'NODES'))
        .split('\n')
        .filter((line) => line.split(' ')[2]?.split(',').includes('master') && !line.includes('fail'))
        .map((line) => Number(/:(\d+)@/.exec(line)?.[1]));
    return {
      url: `redis+cluster://${ports.map((p) => `${HOST}:${p}`).join(',')}`,
      ports,
      masters,
      async masterOf(key) {
        const port = await live();
        const slot = Number((await cli(port, 'CLUSTER', 'KEYSLOT', key)).trim());
        for (const line of (await cli(port, 'CLUSTER', 'NODES')).split('\n')) {
          const fields = line.split(' ');
          if (!fields[2]?.split(',').includes('master') || line.includes('fail')) continue;
          for (const range of fields.slice(8)) {
            const [from, to = from] = range.split('-').map(Number);
            if (from !== undefined && slot >= from && slot <= to!) return Number(/:(\d+)@/.exec(line)?.[1]);
          }
        }
        throw new Error(`no master serves slot ${slot}`);
      },
      kill: (port) => processes.kill(port),
      close: () => processes.close(),
    };
  } catch (error) {
    await processes.close();
    throw error;
  }
}

export interface RedisSentinel {
  /** `redis+sentinel://…/<master name>` naming the three Sentinels. */
  readonly url: string;
  readonly masterName: string;
  readonly sentinelPorts: readonly number[];
  /** The port of the master, as the Sentinels report it. */
  master(): Promise<number>;
  kill(port: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A master, its replica and three Sentinels (quorum 2, `down-after-milliseconds` 1000), on free
 * ports. Resolves once every Sentinel knows the replica and the other Sentinels.
 */
export async function startRedisSentinel(): Promise<RedisSentinel> {
  const processes = new Processes();
  const masterName = 'zts-master';
  try {
    const [master, replica] = [await freePort(), await freePort()] as [number, number];
    processes.start(master, serverArgs(processes.dir, master));
    processes.start(replica, [...serverArgs(processes.dir, replica), '--replicaof', HOST, String(master)]);
    for (const port of [master, replica]) {
      await until(`redis-server on ${port}`, async () => (await cli(port, 'PING')).includes('PONG'));
    }
    await until('the replica in sync', async () =>
      (await cli(replica, 'INFO', 'replication')).includes('master_link_status:up'),
    );
    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      sentinelPorts.push(port);
      const file = join(processes.dir, `sentinel-${port}.conf`);
      // Sentinel rewrites its configuration file: one writable file each.
      writeFileSync(
        file,
        [
          `port ${port}`,
          `bind ${HOST}`,
          `dir ${processes.dir}`,
          `sentinel monitor ${masterName} ${HOST} ${master} 2`,
          `sentinel down-after-milliseconds ${masterName} 1000`,
          `sentinel failover-timeout ${masterName} 5000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      processes.start(port, [file, '--sentinel', '--daemonize', 'no']);
    }
    for (const port of sentinelPorts) {
      await until(`Sentinel on ${port} sees the replica and the other Sentinels`, async () => {
        const info = await cli(port, 'SENTINEL', 'MASTER', masterName);
        const lines = info.split('\n').map((l) => l.trim());
        const value = (name: string): number => Number(lines[lines.indexOf(name) + 1]);
        return value('num-slaves') >= 1 && value('num-other-sentinels') >= 2;
      });
    }
    const reported = async (): Promise<number> => {
      for (const port of sentinelPorts) {
        const answer = (await cli(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)).split('\n');
        if (answer[1]) return Number(answer[1]);
      }
      throw new Error('no Sentinel answers');
    };
    return {
      url: `redis+sentinel://${sentinelPorts.map((p) => `${HOST}:${p}`).join(',')}/${masterName}`,
      masterName,
      sentinelPorts,
      master: reported,
      kill: (port) => processes.kill(port),
      close: () => processes.close(),
    };
  } catch (error) {
    await processes.close();
    throw error;
  }
}
