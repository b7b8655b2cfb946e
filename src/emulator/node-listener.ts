import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorCore } from './core.js';
import type { EmulatorRequest } from './exchange.js';
import { handleRequest } from './handler.js';

/**
 * A plain `(req, res)` handler for one data center, usable with any `node:http` server: adapts the
 * socket's request to {@link handleRequest} and writes its answer (or cuts the connection).
 */
export function createRequestHandler(
  core: EmulatorCore,
  dc: string,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const request: EmulatorRequest = {
      method: req.method ?? 'GET',
      target: req.url ?? '/',
      header: (name) => {
        const value = req.headers[name.toLowerCase()];
        return Array.isArray(value) ? value.join(', ') : value;
      },
      body: req,
    };
    let dropped = false;
    // Closed before our answer went out (and not by a `reset` fault): the client gave up.
    res.once('close', () => {
      if (!res.writableFinished && !dropped) core.stats.add('clientAborts');
    });
    handleRequest(core, dc, request)
      .then((reply) => {
        if (reply.kind === 'drop') {
          dropped = true;
          req.socket.destroy();
          return;
        }
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body);
      })
      .catch(() => req.socket.destroy());
  };
}
