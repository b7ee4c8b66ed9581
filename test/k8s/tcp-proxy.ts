// A real TCP proxy on loopback in front of the rig's API server, for the tests of a hung API
// server: freeze() stops forwarding in both directions and leaves every connection open (old and
// new ones alike: a server that accepts and never answers); freeze('replies') lets requests of new
// connections through but never their answers (the server acts, the client never hears); thaw()
// forwards new connections again (the frozen ones stay hung, as they would). It counts connections, so a test can tell how many
// requests a client made (the Kubernetes client opens a connection per request).
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpProxy {
  connections = 0;
  private frozen: false | 'all' | 'replies' = false;
  private readonly sockets = new Set<Socket>();
  /** connections forwarding now; freeze() hangs them for good */
  private readonly live = new Set<{ up: boolean; down: boolean }>();
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
    if (this.frozen === 'all') {
      client.pause(); // accepted, never answered
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    // whether each direction still flows: requests (up) and answers (down)
    const pair = { up: true, down: true };
    this.live.add(pair);
    upstream.on('close', () => this.live.delete(pair));
    // 'replies': the TLS handshake goes through (ClientHello, the server's flight, the client's
    // Finished: its second write), then no answer comes back while the request goes on up
    const repliesOnly = this.frozen === 'replies';
    let clientWrites = 0;
    client.on('data', (chunk) => {
      if (repliesOnly && ++clientWrites >= 2) pair.down = false;
      if (pair.up) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => pair.down && client.write(chunk));
    client.on('end', () => pair.up && pair.down && upstream.end());
    upstream.on('end', () => pair.up && pair.down && client.end());
  }

  freeze(mode: 'all' | 'replies' = 'all'): void {
    this.frozen = mode;
    for (const pair of this.live) pair.up = pair.down = false;
  }

  thaw(): void {
    this.frozen = false;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
