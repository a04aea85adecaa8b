import { createServer } from 'node:http';

/** The floor: node's http answering constant JSON. */
const body = JSON.stringify({ ok: true });
createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
