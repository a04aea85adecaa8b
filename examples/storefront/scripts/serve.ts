import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** The only files served, and their types: nothing else of the folder can be read. */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/main.js': { file: 'main.js', type: 'text/javascript; charset=utf-8' },
  '/main.js.map': { file: 'main.js.map', type: 'application/json' },
};

export interface StaticServer {
  /** This server's origin, e.g. `http://127.0.0.1:5173`: the one CORS_ORIGINS must list. */
  origin: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, { body, type }: { body: string | Buffer; type: string }): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
}

const text = (body: string) => ({ body, type: 'text/plain; charset=utf-8' });

/**
 * Serves the built page (`dir`, as written by buildStorefront) over plain node:http, on its own
 * origin: another port than the API's. `port: 0` takes a free one.
 *
 * @example
 * const { origin } = await serveStorefront({ dir: 'dist', port: 5173 });
 */
export async function serveStorefront({
  dir,
  port,
  host = '127.0.0.1',
}: {
  dir: string;
  port: number;
  host?: string;
}): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const entry = FILES[new URL(req.url ?? '/', 'http://storefront').pathname];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, text('method not allowed'));
    if (!entry) return send(res, 404, text('not found'));
    readFile(join(dir, entry.file)).then(
      (body) => send(res, 200, { body, type: entry.type }),
      () => send(res, 404, text('not built yet')),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
