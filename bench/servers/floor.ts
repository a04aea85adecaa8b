import { createSecretKey } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import winston from 'winston';
import { createOrderFloor } from './floor-create-order.ts';
import { liveAccount } from './live-account.ts';

/**
 * Hand-written floors for real endpoints: node http + pg, the same selects as
 * v1.products.get and v1.orders.get, one winston JSON line per request (winston's default
 * JSON format), and for orders a JWT verify with a KeyObject and the account check the service
 * makes on every authenticated request (the user exists, is not disabled, and the token's
 * session still has a live refresh token), inside the order's read: the order and its items are
 * read concurrently, as before the check, and a refused caller's reads are dropped. No
 * validation, no framework.
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

/** The token's subject and session, or undefined when the token does not verify. */
function verifiedUser(authorization: string | undefined): { sub: string; sid: string } | undefined {
  try {
    const claims = jwt.verify((authorization ?? '').slice(7), key, {
      algorithms: ['HS256'],
      issuer: 'orders-service',
      audience: 'orders-api',
    });
    if (typeof claims !== 'object' || typeof claims.sub !== 'string' || typeof claims.sid !== 'string')
      return undefined;
    return { sub: claims.sub, sid: claims.sid };
  } catch {
    return undefined;
  }
}

/**
 * The order, and the service's account check (the user exists, is not disabled, and the
 * token's session is live) in the same statement: one row whether or not the order is found.
 */
const ORDER_WITH_ACCOUNT = `select o.id, o.user_id, o.status, o.currency, o.total_amount, o.created_at, o.updated_at,
  ${liveAccount('$2', '$3')} as account_ok
from (select) as one left join orders o on o.id = $1 and o.user_id = $2`;

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
    const caller = verifiedUser(req.headers.authorization);
    if (caller === undefined) {
      done(401, {});
      return;
    }
    const idempotencyKey = req.headers['idempotency-key'];
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      createOrderFloor(pool, {
        userId: caller.sub,
        sessionId: caller.sid,
        body: Buffer.concat(chunks).toString('utf8'),
        idempotencyKey: typeof idempotencyKey === 'string' ? idempotencyKey : undefined,
      })
        .then((answer) => done(answer.status, answer.body))
        .catch(() => done(500, {}));
    });
    return;
  }
  if (kind === 'orders') {
    const caller = verifiedUser(req.headers.authorization);
    if (caller === undefined) {
      done(401, {});
      return;
    }
    const { sub, sid } = caller;
    Promise.all([
      pool.query<{ id: string | null; account_ok: boolean }>(ORDER_WITH_ACCOUNT, [id, sub, sid]),
      pool.query('select * from order_items where order_id = $1', [id]),
    ])
      .then(([found, items]) => {
        const [row] = found.rows;
        if (!row?.account_ok) return done(401, {});
        const { account_ok: _, ...order } = row;
        done(order.id === null ? 404 : 200, order.id === null ? {} : { ...order, items: items.rows });
      })
      .catch(() => done(500, {}));
    return;
  }
  done(404, {});
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
