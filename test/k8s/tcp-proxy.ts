// A real TCP proxy on loopback in front of the rig's API server, for the tests of a hung API
// server: freeze() stops forwarding in both directions and leaves every connection open (old and
// new ones alike: a server that accepts and never answers), thaw() forwards new connections again
// (the frozen ones stay hung, as they would). It counts connections, so a test can tell how many
// requests a client made (the Kubernetes client opens a connection per request).
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpProxy {
  connections = 0;
  private frozen = false;
  private readonly sockets = new Set<Socket>();
  /** connections forwarding now; freeze() hangs them for good */
  private readonly live = new Set<{ hung: boolean }>();
  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | null = null;
    const server = createServer((client) => proxy!.accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  private accept(client: Socket, targetPort: number): void {
    this.connections++;
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    if (this.frozen) {
      client.pause(); // accepted, never answered
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    const pair = { hung: false };
    this.live.add(pair);
    upstream.on('close', () => this.live.delete(pair));
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (!pair.hung) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    client.on('end', () => !pair.hung && upstream.end());
    upstream.on('end', () => !pair.hung && client.end());
  }

  freeze(): void {
    this.frozen = true;
    for (const pair of this.live) pair.hung = true;
  }

  thaw(): void {
    this.frozen = false;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
