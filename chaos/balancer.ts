import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * One entry point in front of several orchestrators, as a load balancer or DNS name is in
 * production: each TCP connection goes to the next backend in turn that accepts it (a dead one is
 * passed over). HTTP and RTMP alike: it forwards bytes, it reads none.
 */
export class Balancer {
  private next = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server, readonly port: number, private readonly backends: () => number[]) {}

  static async start(backends: () => number[]): Promise<Balancer> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    const lb = new Balancer(server, typeof address === 'object' && address ? address.port : 0, backends);
    server.on('connection', (client) => lb.accept(client));
    return lb;
  }

  private accept(client: Socket): void {
    this.track(client);
    client.pause();
    const ports = this.backends();
    const start = this.next++;
    const attempt = (i: number): void => {
      if (i >= ports.length) return void client.destroy();
      const upstream = connect(ports[(start + i) % ports.length]!, '127.0.0.1');
      let connected = false;
      upstream.once('error', () => (connected ? undefined : attempt(i + 1)));
      upstream.once('connect', () => {
        connected = true;
        this.track(upstream);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
        upstream.on('close', () => client.destroy());
        client.on('close', () => upstream.destroy());
      });
    };
    attempt(0);
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
