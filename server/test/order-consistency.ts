import { sql } from 'kysely';
import type { Db } from '../src/core/db/database.ts';

/** Statuses whose order lines still hold stock: reserved (pending_payment) or sold (paid). */
export const STOCK_HOLDING_STATUSES = ['pending_payment', 'paid'] as const;

export interface ConsistencyReport {
  productsChecked: number;
  ordersChecked: number;
  paymentsChecked: number;
  /** One sentence per broken rule; empty when everything holds. */
  problems: string[];
}

interface ProductHolding {
  id: string;
  stock: number;
  held: number;
}

async function productHoldings(db: Db): Promise<ProductHolding[]> {
  const { rows } = await sql<{ id: string; stock: number; held: string | number }>`
    select p.id, p.stock,
      coalesce(sum(i.quantity) filter (where o.status in ('pending_payment', 'paid')), 0) as held
    from products p
    left join order_items i on i.product_id = p.id
    left join orders o on o.id = i.order_id
    group by p.id, p.stock`.execute(db);
  return rows.map((row) => ({ id: row.id, stock: row.stock, held: Number(row.held) }));
}

interface OrderPayments {
  id: string;
  status: string;
  total_amount: number;
  succeeded: number;
  refunded: number;
  attempts: number;
  succeeded_amount: number | null;
  /** Status of the newest attempt, if any. */
  last_status: string | null;
}

async function orderPayments(db: Db): Promise<OrderPayments[]> {
  const { rows } = await sql<{
    id: string;
    status: string;
    total_amount: number;
    succeeded: string | number;
    refunded: string | number;
    attempts: string | number;
    succeeded_amount: string | number | null;
    last_status: string | null;
  }>`
    select o.id, o.status, o.total_amount,
      count(p.id) filter (where p.status = 'succeeded') as succeeded,
      count(p.id) filter (where p.status = 'refunded') as refunded,
      count(p.id) as attempts,
      max(p.amount) filter (where p.status = 'succeeded') as succeeded_amount,
      (select p2.status from payments p2 where p2.order_id = o.id
        order by p2.created_at desc, p2.id desc limit 1) as last_status
    from orders o
    left join payments p on p.order_id = o.id
    group by o.id, o.status, o.total_amount`.execute(db);
  return rows.map((row) => ({
    ...row,
    succeeded: Number(row.succeeded),
    refunded: Number(row.refunded),
    attempts: Number(row.attempts),
    succeeded_amount: row.succeeded_amount === null ? null : Number(row.succeeded_amount),
  }));
}

/** What the payments of an order in `status` must look like; undefined when they do. */
function paymentProblem(order: OrderPayments): string | undefined {
  switch (order.status) {
    case 'paid':
      if (order.succeeded !== 1) return `is paid with ${order.succeeded} succeeded payments`;
      if (order.succeeded_amount !== order.total_amount) {
        return `is paid ${order.succeeded_amount} for a total of ${order.total_amount}`;
      }
      return undefined;
    case 'refunded':
      if (order.succeeded !== 0 || order.refunded < 1) {
        return `is refunded with ${order.succeeded} succeeded and ${order.refunded} refunded payments`;
      }
      return undefined;
    case 'payment_failed':
      if (order.succeeded !== 0) return `is payment_failed with ${order.succeeded} succeeded payments`;
      if (order.last_status !== 'declined' && order.last_status !== 'failed') {
        return `is payment_failed but its last attempt is ${order.last_status ?? 'missing'}`;
      }
      return undefined;
    case 'pending_payment':
    case 'cancelled':
      return order.succeeded === 0 ? undefined : `is ${order.status} with ${order.succeeded} succeeded payments`;
    default:
      return `has the unknown status ${order.status}`;
  }
}

/**
 * Checks the rules that tie stock, orders and payments together, reading the database only:
 * - every product: stock >= 0, and `initialStock` (when known) = stock + the quantities held by
 *   its pending_payment and paid orders (payment_failed, cancelled and refunded gave theirs back);
 * - every order: its payments match its status (paid: one succeeded payment of its total;
 *   refunded: a refunded one and no succeeded one; payment_failed: its last attempt declined
 *   or failed; pending_payment and cancelled: no succeeded payment);
 * - every finished Idempotency-Key points at an order that exists, and no two keys at one order.
 */
export async function checkOrderConsistency(
  db: Db,
  { initialStock }: { initialStock?: ReadonlyMap<string, number> } = {},
): Promise<ConsistencyReport> {
  const problems: string[] = [];
  const holdings = await productHoldings(db);
  for (const product of holdings) {
    if (product.stock < 0) problems.push(`product ${product.id} has negative stock ${product.stock}`);
    const initial = initialStock?.get(product.id);
    if (initial !== undefined && initial !== product.stock + product.held) {
      problems.push(
        `product ${product.id}: started with ${initial}, now ${product.stock} in stock + ${product.held} held by orders`,
      );
    }
  }
  const orders = await orderPayments(db);
  for (const order of orders) {
    const problem = paymentProblem(order);
    if (problem) problems.push(`order ${order.id} ${problem}`);
  }
  const { rows: keys } = await sql<{ order_id: string; keys: string | number; existing: string | number }>`
    select k.order_id, count(*) as keys, count(o.id) as existing
    from idempotency_keys k left join orders o on o.id = k.order_id
    where k.order_id is not null and k.operation = 'orders.create'
    group by k.order_id`.execute(db);
  for (const key of keys) {
    if (Number(key.existing) === 0) problems.push(`an Idempotency-Key points at the missing order ${key.order_id}`);
    else if (Number(key.keys) > 1) problems.push(`order ${key.order_id} was created by ${key.keys} Idempotency-Keys`);
  }
  const { rows: payments } = await sql<{ count: string | number }>`select count(*) as count from payments`.execute(db);
  return {
    productsChecked: holdings.length,
    ordersChecked: orders.length,
    paymentsChecked: Number(payments[0]?.count ?? 0),
    problems,
  };
}
