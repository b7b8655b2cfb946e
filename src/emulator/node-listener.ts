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
    handleRequest(core, dc, request)
      .then((reply) => {
        if (reply.kind === 'drop') {
          req.socket.destroy();
          return;
        }
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body);
      })
      .catch(() => req.socket.destroy());
  };
}
