import { connect } from 'node:net';

export interface Service {
  name: string;
  host: string;
  port: number;
}

export const MARIADB: Service = { name: 'MariaDB', host: '127.0.0.1', port: 3306 };
export const POSTGRES: Service = { name: 'PostgreSQL', host: '127.0.0.1', port: 5432 };
export const REDIS: Service = { name: 'Redis', host: '127.0.0.1', port: 6379 };

function reachable({ host, port }: Service, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Whether a server suite should be skipped: locally an unreachable server skips it with a reason;
 * under CI=true it must be there, so the suite runs and fails loudly instead.
 * Use as `describe(name, { skip: await skipUnlessReachable(MARIADB) }, …)`.
 */
export async function skipUnlessReachable(service: Service): Promise<string | false> {
  if (await reachable(service)) return false;
  const reason = `${service.name} is not reachable at ${service.host}:${service.port}`;
  if (process.env['CI'] === 'true')
    throw new Error(`${reason}; under CI=true the server suites must run (.ci/run starts it)`);
  return `${reason}: start it to run this suite`;
}
