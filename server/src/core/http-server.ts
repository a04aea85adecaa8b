import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { resolveRequestId } from './http/request-id.ts';

/**
 * A request Node refuses before it reaches the app (headers or URL over the 16 KiB limit, a
 * request line that does not parse) is still answered with the error envelope and a request
 * id, not Node's bare status line: 431 for headers too large, 400 for anything else.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const requestId = resolveRequestId(undefined);
  const body = JSON.stringify({
    code: 'BAD_REQUEST',
    message: tooLarge ? 'Request headers (the URL included) are larger than the limit' : 'Malformed HTTP request',
    request_id: requestId,
  });
  socket.end(
    `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}

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
  server.on('clientError', answerClientError);
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
