import { createSecretKey } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import winston from 'winston';
import { createOrderFloor } from './floor-create-order.ts';

/**
 * Hand-written floors for real endpoints: node http + pg, the same selects as
 * v1.products.get and v1.orders.get, one winston JSON line per request (winston's default
 * JSON format), and for orders a JWT verify with a KeyObject. No validation, no framework.
 * `POST /orders` is the floor of v1.orders.create (see floor-create-order.ts).
 */
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const logger = winston.createLogger({
  format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
  transports: [new winston.transports.Stream({ stream: process.stdout })],
});
const key = createSecretKey(Buffer.from(process.env.JWT_SECRET ?? '', 'utf8'));

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The token's subject, or undefined when the token does not verify. */
function verifiedUser(authorization: string | undefined): string | undefined {
  try {
    const claims = jwt.verify((authorization ?? '').slice(7), key, {
      algorithms: ['HS256'],
      issuer: 'orders-service',
      audience: 'orders-api',
    });
    return typeof claims === 'object' && typeof claims.sub === 'string' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

createServer((req, res) => {
  const started = performance.now();
  const [, kind, id] = (req.url ?? '').split('/');
  const done = (status: number, body: unknown) => {
    send(res, status, body);
    logger.info('http_request', { method: req.method, path: req.url, status, latency_ms: performance.now() - started });
  };
  if (kind === 'products') {
    pool
      .query(
        'select id, sku, name, description, price_amount, currency, stock, active, created_at, updated_at from products where id = $1',
        [id],
      )
      .then(({ rows }) => done(rows[0] ? 200 : 404, rows[0] ?? {}))
      .catch(() => done(500, {}));
    return;
  }
  if (kind === 'orders' && req.method === 'POST') {
    const userId = verifiedUser(req.headers.authorization);
    if (userId === undefined) {
      done(401, {});
      return;
    }
    const idempotencyKey = req.headers['idempotency-key'];
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      createOrderFloor(pool, {
        userId,
        body: Buffer.concat(chunks).toString('utf8'),
        idempotencyKey: typeof idempotencyKey === 'string' ? idempotencyKey : undefined,
      })
        .then((answer) => done(answer.status, answer.body))
        .catch(() => done(500, {}));
    });
    return;
  }
  if (kind === 'orders') {
    const sub = verifiedUser(req.headers.authorization);
    if (sub === undefined) {
      done(401, {});
      return;
    }
    Promise.all([
      pool.query(
        'select id, user_id, status, currency, total_amount, created_at, updated_at from orders where id = $1 and user_id = $2',
        [id, sub],
      ),
      pool.query('select * from order_items where order_id = $1', [id]),
    ])
      .then(([order, items]) => done(order.rows[0] ? 200 : 404, { ...order.rows[0], items: items.rows }))
      .catch(() => done(500, {}));
    return;
  }
  done(404, {});
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
