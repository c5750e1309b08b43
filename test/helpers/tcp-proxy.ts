import net from 'node:net';

/**
 * A loopback TCP proxy to a real server that a test stops and starts again on the same port: the
 * server "goes down" for whoever connects through the proxy (every connection through it is cut)
 * without stopping the machine's server.
 */
export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly clients = new Set<net.Socket>();
  port = 0;

  constructor(private readonly upstream: { host: string; port: number }) {}

  /** Reserves a port with nothing listening on it (the proxy starts there later). */
  async reserve(): Promise<number> {
    await this.start();
    await this.stop();
    return this.port;
  }

  start(): Promise<void> {
    const server = net.createServer((client) => {
      this.clients.add(client);
      client.on('close', () => this.clients.delete(client));
      const up = net.connect(this.upstream);
      for (const s of [client, up]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(up).pipe(client);
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  /** How many connections are open through the proxy now. */
  get connections(): number {
    return this.clients.size;
  }

  /** Stops listening and cuts every connection through the proxy. */
  stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

/** True when something accepts TCP connections on host:port within a second. */
export function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 1000 });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.once('timeout', () => done(false));
  });
}
