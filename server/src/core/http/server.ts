import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { answerClientErrors } from './client-error.ts';
import type { Logger } from '../logging/logger.ts';
import { listen } from './listen.ts';

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

export interface HttpServerOptions {
  host: string;
  port: number;
  shutdownTimeoutMs: number;
  /** Writes the access line of a request node refuses before the app sees it. */
  logger: Logger;
  /** How long a request (headers and body) may take to arrive; past it, 408. 30 s unless set. */
  requestTimeoutMs?: number;
}

/**
 * How often node looks for requests past their timeout: a tenth of it, at most every second
 * (node's own default looks every 30 s, so a request could wait twice its timeout for its 408).
 */
function timeoutCheckInterval(requestTimeoutMs: number): number {
  return Math.max(1, Math.min(1_000, Math.floor(requestTimeoutMs / 10)));
}

export async function startHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  { host, port, shutdownTimeoutMs, logger, requestTimeoutMs = 30_000 }: HttpServerOptions,
): Promise<RunningServer> {
  let stopping = false;
  // The response in progress on each connection, so a stop can still turn it into the last one.
  const current = new Map<Socket, ServerResponse>();
  // When each connection opened: the latency a request refused before it was parsed is logged with.
  const openedAt = new WeakMap<Socket, number>();
  const serverOptions = {
    keepAliveTimeout: 5_000,
    // Node's headersTimeout is the smaller of 60 s and this.
    requestTimeout: requestTimeoutMs,
    connectionsCheckingInterval: timeoutCheckInterval(requestTimeoutMs),
  };
  const server = createServer(serverOptions, (req, res) => {
    if (stopping) res.setHeader('Connection', 'close');
    else current.set(req.socket, res);
    handler(req, res);
  });
  server.on('connection', (socket: Socket) => {
    openedAt.set(socket, performance.now());
    socket.once('close', () => current.delete(socket));
  });
  server.on('clientError', answerClientErrors({ logger, openedAt }));
  const url = await listen(server, { host, port });

  return {
    server,
    url,
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
