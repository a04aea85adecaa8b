import { createServer } from 'node:http';
import { listen } from '../http/listen.ts';
import type { Logger } from '../logging/logger.ts';

export interface MetricsSource {
  contentType: string;
  metrics: () => Promise<string>;
}

export interface MetricsServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * `GET /metrics` on a listener of its own (METRICS_HOST:METRICS_PORT), so that the API's port
 * never serves it: by default it listens on the loopback interface only. Anything else is 404.
 */
export async function startMetricsServer(
  source: MetricsSource,
  { host, port, logger }: { host: string; port: number; logger: Logger },
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res
        .writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('Not found: metrics are at GET /metrics\n');
      return;
    }
    source.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': source.contentType, 'Cache-Control': 'no-store' }).end(text);
      },
      (error: unknown) => {
        logger.error('metrics_failed', { reason: error instanceof Error ? error.message : String(error) });
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Metrics could not be collected\n');
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  const url = `${await listen(server, { host, port })}/metrics`;
  logger.info('metrics_started', { url });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
