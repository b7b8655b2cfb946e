import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a database server, so the soak can cut the stores' connections
 * for a while without ever touching the shared server: `cut(ms)` destroys every open connection
 * and resets new ones until the time is up.
 */
export class TcpProxy {
  readonly port: number;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cutUntil = 0;
  /** Connections cut or refused, for the report. */
  cuts = 0;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  /** Listens on a free port of 127.0.0.1 and forwards to `target`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const holder: { proxy?: TcpProxy } = {};
    const server = createServer((client) => {
      if (holder.proxy === undefined) client.destroy();
      else holder.proxy.#accept(client, target);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
    holder.proxy = new TcpProxy(server, address.port);
    return holder.proxy;
  }

  get isCut(): boolean {
    return Date.now() < this.#cutUntil;
  }

  /** Cuts every connection now and refuses new ones for `ms` of real time. */
  cut(ms: number): void {
    this.#cutUntil = Date.now() + ms;
    for (const socket of this.#sockets) {
      socket.destroy();
      this.cuts++;
    }
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, target: { host: string; port: number }): void {
    if (this.isCut) {
      this.cuts++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target);
    this.#track(client);
    this.#track(upstream);
    // Either side closing or failing ends the pair, as a cut cable would.
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }
}
