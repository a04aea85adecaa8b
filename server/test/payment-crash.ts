import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Db } from '../src/core/db/database.ts';
import { createLogger } from '../src/core/logging/logger.ts';
import { SecretLedger, registerUser } from './api-client.ts';
import { LogCapture } from './log-capture.ts';
import { insertProducts } from './seed-products.ts';
import { databaseEnv, newTestDatabase, startServer, type StartedServer } from './server-process.ts';
import type { TestApp } from './test-app.ts';
import { migrate } from './test-database.ts';

/**
 * The crash drill of the payment path: orders are placed on the real server process, which is
 * killed with SIGKILL while the gateway holds their charges (taken, not yet answered), then
 * restarted on the same database; its reconciler must settle every one within the grace period
 * plus one interval: a charge that went through paid once, a declined one failed with its
 * stock back. Each loop's restarted server is the one the next loop kills.
 */

export const RECONCILE_AFTER_SECONDS = 2;
export const RECONCILE_INTERVAL_SECONDS = 1;
/** How long the gateway holds each charge before answering: the window the kill lands in. */
export const GATEWAY_HOLD_MS = 1_500;

export interface CrashGateway {
  name: string;
  /** The server's gateway variables. */
  env: Record<string, string>;
  /** Whether the gateway has taken the charge of each of these orders. */
  holdsAll(db: Db, orderIds: string[]): Promise<boolean>;
  /** Succeeded charges of the order at the gateway, refunded ones left out. */
  chargesKept(db: Db, orderId: string): Promise<number>;
}

export interface CrashFigures {
  gateway: string;
  crashes_injected: number;
  orders_checked: number;
  charges_expected_paid: number;
  declines_expected_failed: number;
  lost: number;
  doubled: number;
  stuck: number;
  wrong_status: number;
  stock_not_returned: number;
  /** From the restarted server's start to the last of its orders settled. */
  max_settle_ms: number;
  settle_deadline_ms: number;
}

const SUCCEEDING = ['pm_card_visa', 'pm_card_mastercard'];
const DECLINING = 'pm_card_chargeDeclinedInsufficientFunds';
const STOCK = 1_000;

async function pendingOrders(db: Db, userId: string): Promise<{ id: string }[]> {
  return db
    .selectFrom('orders')
    .select('id')
    .where('user_id', '=', userId)
    .where('status', '=', 'pending_payment')
    .execute();
}

export async function runCrashLoops(gateway: CrashGateway, loops: number): Promise<CrashFigures> {
  const testDatabase = await newTestDatabase();
  const logger = createLogger({ level: 'error', destination: new LogCapture() });
  const handle = await testDatabase.open(logger);
  await migrate(handle, logger);
  const [paidProduct = '', declinedProduct = ''] = await insertProducts(handle.db, [
    { stock: STOCK, price_amount: 700 },
    { stock: STOCK, price_amount: 900 },
  ]);
  const env = {
    ...databaseEnv(testDatabase),
    ...gateway.env,
    PAYMENT_GATEWAY_TIMEOUT_MS: '10000',
    PAYMENT_RECONCILE_AFTER_SECONDS: String(RECONCILE_AFTER_SECONDS),
    PAYMENT_RECONCILE_INTERVAL_SECONDS: String(RECONCILE_INTERVAL_SECONDS),
    RATE_LIMIT_PER_IP: '100000',
  };
  const settleDeadlineMs = (RECONCILE_AFTER_SECONDS + RECONCILE_INTERVAL_SECONDS) * 1000 + GATEWAY_HOLD_MS + 3_000;
  const figures: CrashFigures = {
    gateway: gateway.name,
    crashes_injected: 0,
    orders_checked: 0,
    charges_expected_paid: 0,
    declines_expected_failed: 0,
    lost: 0,
    doubled: 0,
    stuck: 0,
    wrong_status: 0,
    stock_not_returned: 0,
    max_settle_ms: 0,
    settle_deadline_ms: settleDeadlineMs,
  };
  let server: StartedServer = await startServer(env);
  const user = await registerUser({ url: server.url } as TestApp, { secrets: new SecretLedger(), label: 'crash' });
  const place = (productId: string, paymentMethod: string) =>
    fetch(`${server.url}/api/v1/orders/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ productId, quantity: 1 }], paymentMethod }),
    }).catch(() => undefined);

  try {
    for (let loop = 0; loop < loops; loop++) {
      const requests = [...SUCCEEDING.map((method) => place(paidProduct, method)), place(declinedProduct, DECLINING)];
      let inFlight: string[] = [];
      for (let tries = 0; tries < 200; tries++) {
        inFlight = (await pendingOrders(handle.db, user.id)).map((row) => row.id);
        if (inFlight.length === requests.length && (await gateway.holdsAll(handle.db, inFlight))) break;
        await sleep(10);
      }
      if (inFlight.length !== requests.length) throw new Error(`loop ${loop}: ${inFlight.length} orders in flight`);
      server.child.kill('SIGKILL');
      await server.exited;
      await Promise.all(requests);
      figures.crashes_injected += 1;

      server = await startServer(env);
      const restartedAt = performance.now();
      let settledMs = Number.POSITIVE_INFINITY;
      while (performance.now() - restartedAt < settleDeadlineMs) {
        if ((await pendingOrders(handle.db, user.id)).length === 0) {
          settledMs = performance.now() - restartedAt;
          break;
        }
        await sleep(50);
      }
      figures.max_settle_ms = Math.max(figures.max_settle_ms, Math.round(Math.min(settledMs, settleDeadlineMs)));
      const orders = await handle.db
        .selectFrom('orders')
        .innerJoin('order_items', 'order_items.order_id', 'orders.id')
        .select(['orders.id', 'orders.status', 'order_items.product_id'])
        .where('orders.id', 'in', inFlight)
        .execute();
      for (const order of orders) {
        figures.orders_checked += 1;
        const kept = await gateway.chargesKept(handle.db, order.id);
        if (order.status === 'pending_payment') figures.stuck += 1;
        if (kept > 1) figures.doubled += 1;
        if (order.product_id === paidProduct) {
          figures.charges_expected_paid += 1;
          if (kept >= 1 && order.status !== 'paid') figures.lost += 1;
          if (order.status !== 'paid' || kept !== 1) figures.wrong_status += 1;
        } else {
          figures.declines_expected_failed += 1;
          if (order.status !== 'payment_failed' || kept !== 0) figures.wrong_status += 1;
        }
      }
    }
    const { rows } = await sql<{ id: string; stock: number }>`
      select id, stock from products where id in (${paidProduct}, ${declinedProduct})`.execute(handle.db);
    const paidOrders = await handle.db
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('status', '=', 'paid')
      .executeTakeFirstOrThrow();
    for (const row of rows) {
      const expected = row.id === paidProduct ? STOCK - Number(paidOrders.count) : STOCK;
      if (row.stock !== expected) figures.stock_not_returned += Math.abs(expected - row.stock);
    }
    return figures;
  } finally {
    server.child.kill('SIGKILL');
    await server.exited;
    await handle.close();
  }
}
