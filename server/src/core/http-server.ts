import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningServer {
  server: Server;
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to the timeout), then closes every connection. */
  stop(): Promise<{ forced: boolean }>;
}

export async function startHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  { host, port, shutdownTimeoutMs }: { host: string; port: number; shutdownTimeoutMs: number },
): Promise<RunningServer> {
  const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 30_000 }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    server,
    url: `http://${shownHost}:${address.port}`,
    stop: () =>
      new Promise((resolve) => {
        let forced = false;
        const timer = setTimeout(() => {
          forced = true;
          server.closeAllConnections();
        }, shutdownTimeoutMs);
        timer.unref();
        // New requests on kept-alive connections are told the connection closes after them,
        // and connections that fall idle are closed, so close() is not held open by keep-alive.
        server.on('request', (_req: IncomingMessage, res: ServerResponse) => res.setHeader('Connection', 'close'));
        const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearTimeout(timer);
          clearInterval(idleSweep);
          resolve({ forced });
        });
        server.closeIdleConnections();
      }),
  };
}
