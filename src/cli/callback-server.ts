import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { usageError } from './cli-error.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A request that arrived on the redirect path, and how to answer the browser. */
export interface Callback {
  readonly url: URL;
  respond(status: number, title: string, text: string): void;
}

/**
 * The web flow's redirect target: an HTTP server on 127.0.0.1 only (never reachable from another
 * host) that hands each request on the redirect path to `onCallback`. Everything else is a 404.
 */
export class CallbackServer {
  readonly #server: Server;
  readonly redirectUrl: URL;

  private constructor(server: Server, redirectUrl: URL) {
    this.#server = server;
    this.redirectUrl = redirectUrl;
  }

  /**
   * Listens for `redirectUri` (which must be http on a loopback host), or on `port` with the
   * redirect `http://127.0.0.1:<port>/callback` (port 0: any free port).
   */
  static async start(
    options: { redirectUri?: string | undefined; port?: number | undefined },
    onCallback: (callback: Callback) => void,
  ): Promise<CallbackServer> {
    const wanted = redirectTarget(options);
    const server = createServer((req, res) => handle(req, res, wanted.path, onCallback));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          error.code === 'EADDRINUSE' || error.code === 'EACCES'
            ? usageError(
                `cannot listen on 127.0.0.1:${wanted.port} (${error.code}): choose another --port and register its redirect URI`,
              )
            : error,
        );
      });
      server.listen(wanted.port, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const redirectUrl = new URL(options.redirectUri ?? `http://127.0.0.1:${port}${wanted.path}`);
    return new CallbackServer(server, redirectUrl);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

function redirectTarget(options: { redirectUri?: string | undefined; port?: number | undefined }): {
  port: number;
  path: string;
} {
  if (options.redirectUri === undefined) return { port: options.port ?? 0, path: '/callback' };
  let url: URL;
  try {
    url = new URL(options.redirectUri);
  } catch {
    throw usageError('--redirect-uri must be an absolute URL such as http://127.0.0.1:8765/callback');
  }
  if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname) || url.port === '' || url.search || url.hash) {
    throw usageError(
      'with --web, --redirect-uri must be http://127.0.0.1:<port>/<path> (or localhost): the CLI receives the redirect itself',
    );
  }
  const port = Number(url.port);
  if (options.port !== undefined && options.port !== port)
    throw usageError(`--port ${options.port} differs from the port of --redirect-uri (${port})`);
  return { port, path: url.pathname };
}

function handle(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  onCallback: (callback: Callback) => void,
): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (req.method !== 'GET' || url.pathname !== path) {
    page(res, 404, 'Not found', 'This is the zoho-tokens login callback; nothing else is served here.');
    return;
  }
  let answered = false;
  onCallback({
    url,
    respond: (status, title, text) => {
      if (answered) return;
      answered = true;
      page(res, status, title, text);
    },
  });
}

function page(res: ServerResponse, status: number, title: string, text: string): void {
  const body = `<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>\n`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
