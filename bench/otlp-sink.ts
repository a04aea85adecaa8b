import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Where the traced service's spans go during a run: an OTLP/HTTP endpoint that reads each
 * export and answers it accepted (an empty ExportTraceServiceResponse), as a collector would.
 * It runs in the bench's own process, not on the servers' core: what the run charges to
 * tracing is the service's own cost (spans made, batched, encoded and sent).
 */
export async function startOtlpSink(): Promise<{ url: string; server: Server; exports: () => number }> {
  let exports = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, exports: () => exports };
}
