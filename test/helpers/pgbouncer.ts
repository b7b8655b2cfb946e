// A PgBouncer of the test's own, in transaction pooling mode, in front of the shared PostgreSQL:
// its config, auth, pid and log files in a temporary directory, a free loopback port, killed (and
// the directory removed) when the test file ends. The shared server's configuration is untouched.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Service } from './services.js';

/** Debian's path; `PGBOUNCER` overrides it. */
const BINARY = process.env['PGBOUNCER'] ?? '/usr/sbin/pgbouncer';

/** A running PgBouncer of this test file. */
export interface PgBouncer {
  /** `postgres://postgres@127.0.0.1:<port>/<database>` through the pooler. */
  url: string;
  port: number;
  /** Server connections per database/user pair: clients beyond it share them. */
  poolSize: number;
  /** The pooler's log so far (for a failing assertion's message). */
  log(): string;
}

/** Why PgBouncer tests cannot run here, or false. Under CI=true a missing binary is an error. */
export function skipUnlessPgBouncer(): string | false {
  try {
    execFileSync(BINARY, ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    const reason = `PgBouncer is not installed at ${BINARY} (apt-get install pgbouncer)`;
    if (process.env['CI'] === 'true') throw new Error(`${reason}; under CI=true it must be (.ci/run installs it)`);
    return reason;
  }
}

/** A port no one listens on right now (the OS picks it; PgBouncer binds it a moment later). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => (socket.destroy(), resolve(false)));
  });
}

/**
 * Starts PgBouncer (`pool_mode = transaction`, `auth_type = trust`) in front of `server`'s
 * `database`; stopped after the test file. PgBouncer refuses to run as root: as root, it runs as
 * `postgres` (`-u`), which then owns the temporary directory.
 */
export async function startPgBouncer(server: Service, database: string, poolSize = 4): Promise<PgBouncer> {
  const dir = mkdtempSync(join(tmpdir(), 'zts-pgbouncer-'));
  const logFile = join(dir, 'pgbouncer.log');
  const port = await freePort();
  writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${database} = host=${server.host} port=${server.port} dbname=${database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      // Few server connections for many clients: consecutive transactions of one client land on
      // different server connections, so any session state the store relied on would be lost.
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 500',
      `logfile = ${logFile}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      '',
    ].join('\n'),
  );
  const args = [join(dir, 'pgbouncer.ini')];
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
    args.unshift('-u', 'postgres');
  }
  const child: ChildProcess = spawn(BINARY, args, { stdio: 'ignore' });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const log = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  after(async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await Promise.race([exit, sleep(5000)]);
      if (!exited) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });
  for (let tries = 0; !(await accepts(port)); tries++) {
    if (exited || tries > 100) throw new Error(`PgBouncer did not start on 127.0.0.1:${port}:\n${log()}`);
    await sleep(50);
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/${database}`, port, poolSize, log };
}
