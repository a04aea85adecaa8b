import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { resolveRequestId } from './request-id.ts';

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
  /**
   * Stops accepting, answers what was sent before or during the stop (each answer saying
   * `Connection: close`), closes idle connections after a grace, and closes every connection
   * still open at the timeout.
   */
  stop(): Promise<{ forced: boolean }>;
}

/** How long idle keep-alive connections stay open once stopping: a tenth of the timeout, 1 s at most. */
function idleGraceFor(shutdownTimeoutMs: number): number {
  return Math.min(1_000, Math.floor(shutdownTimeoutMs / 10));
}

export async function startHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  { host, port, shutdownTimeoutMs }: { host: string; port: number; shutdownTimeoutMs: number },
): Promise<RunningServer> {
  let stopping = false;
  // The response in progress on each connection, so a stop can still turn it into the last one.
  const current = new Map<Socket, ServerResponse>();
  const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 30_000 }, (req, res) => {
    if (stopping) res.setHeader('Connection', 'close');
    else current.set(req.socket, res);
    handler(req, res);
  });
  server.on('connection', (socket: Socket) => socket.once('close', () => current.delete(socket)));
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
        stopping = true;
        let forced = false;
        let idleSweep: NodeJS.Timeout | undefined;
        const forceTimer = setTimeout(() => {
          forced = true;
          server.closeAllConnections();
        }, shutdownTimeoutMs);
        forceTimer.unref();
        // Answers not yet begun tell their clients that the connection closes after them; new
        // requests on kept-alive connections are told the same as they arrive (see above).
        for (const res of current.values()) if (!res.headersSent) res.setHeader('Connection', 'close');
        current.clear();
        // An idle connection may carry a request that is sent but not yet read (node counts a
        // connection idle until it parses the first bytes of the next request), or a client about
        // to send one after an answer that still said keep-alive. Closing it at once would reset
        // that request unanswered, so idle connections are closed only after a grace; then,
        // any connection that falls idle.
        const graceTimer = setTimeout(() => {
          server.closeIdleConnections();
          idleSweep = setInterval(() => server.closeIdleConnections(), 50);
        }, idleGraceFor(shutdownTimeoutMs));
        // net's close, not http's: http's also destroys every idle connection right away.
        NetServer.prototype.close.call(server, () => {
          clearTimeout(forceTimer);
          clearTimeout(graceTimer);
          clearInterval(idleSweep);
          resolve({ forced });
        });
      }),
  };
}
