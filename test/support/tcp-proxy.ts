/**
 * A real TCP forwarder to a real server, which a test can close (the port then refuses connections) and
 * reopen on the same port: how a test takes a dependency away without touching the machine's services.
 */
import net, { type AddressInfo } from 'node:net';

export interface TcpProxy {
  port: number;
  url: string;
  /** Stops listening and cuts every open connection: the port refuses connections until reopen(). */
  close(): Promise<void>;
  reopen(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number, port = 0): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let server: net.Server;
  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      server = net.createServer((client) => {
        const upstream = net.connect(targetPort, targetHost);
        sockets.add(client).add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const bound = await listen(port);
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
        sockets.clear();
      });
    },
    async reopen() {
      await listen(bound);
    },
  };
}
