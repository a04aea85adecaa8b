import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';

/**
 * The floor of `orders.create`: the same work as the service's, in the fewest round trips.
 *
 * First transaction (BEGIN, one statement, COMMIT): every line's stock taken in one update
 * (`stock >= quantity`, active products), the order written with its total only when every
 * line was taken, its lines written, and under an Idempotency-Key the key claimed with the
 * order linked. The simulated charge runs outside any transaction (in memory, answers kept by
 * gateway key, as the service's simulated gateway does). Second transaction (one statement):
 * the payment recorded, the order moved to paid (or to payment_failed with its stock given
 * back), the key marked done. No validation past what the statements need, no framework.
 */

export interface CreateOrderRequest {
  userId: string;
  body: string;
  idempotencyKey: string | undefined;
}

export interface CreateOrderAnswer {
  status: number;
  body: unknown;
}

interface OrderRow {
  id: string;
  user_id: string;
  status: string;
  currency: string;
  total_amount: number;
  created_at: string;
  updated_at: string;
}

interface PlacedRow {
  order: OrderRow | null;
  lines: LineRow[] | null;
  claimed: boolean;
}

interface LineRow {
  product_id: string;
  product_name: string;
  quantity: number;
  unit_price_amount: number;
  line_total_amount: number;
}

// One-line orders take one row lock; an order of several lines locks its rows in the
// update's join order (the service sorts them; the bench's orders have one line).
const PLACE = `with wanted as (
  select * from unnest($1::text[], $2::int[]) as w(product_id, quantity)
), taken as (
  update products p set stock = p.stock - w.quantity, updated_at = now()
  from wanted w
  where p.id = w.product_id and p.active and p.stock >= w.quantity
  returning p.id, p.name, p.price_amount, p.currency, w.quantity
), placed as (
  insert into orders (id, user_id, status, currency, total_amount)
  select $3, $4, 'pending_payment', min(currency), sum(price_amount * quantity)
  from taken having count(*) = $5 and count(distinct currency) = 1
  returning id, user_id, status, currency, total_amount, created_at, updated_at
), lines as (
  insert into order_items (order_id, product_id, product_name, quantity, unit_price_amount, line_total_amount)
  select placed.id, taken.id, taken.name, taken.quantity, taken.price_amount, taken.price_amount * taken.quantity
  from placed, taken
  returning product_id, product_name, quantity, unit_price_amount, line_total_amount
), claimed as (
  insert into idempotency_keys (user_id, key, operation, fingerprint, state, order_id)
  select $4, $6, 'orders.create', $7, 'in_progress', placed.id from placed where $6::text is not null
  on conflict do nothing
  returning key
)
select (select row_to_json(placed) from placed) as "order",
  (select json_agg(lines order by product_id) from lines) as lines,
  $6::text is null or exists (select from claimed) as claimed`;

const RECORD = `with paid as (
  insert into payments (id, order_id, amount, currency, status, gateway, gateway_reference, decline_code,
    failure_reason, payment_method)
  values ($1, $2, $3, $4, $5, 'simulated', $6, $7, $8, $9)
), moved as (
  update orders set status = $10, updated_at = now() where id = $2 and status = 'pending_payment'
  returning id, user_id, status, currency, total_amount, created_at, updated_at
), released as (
  update products p set stock = p.stock + i.quantity, updated_at = now()
  from order_items i
  where $10 = 'payment_failed' and i.order_id = $2 and p.id = i.product_id and exists (select from moved)
), done as (
  update idempotency_keys set state = 'done' where user_id = $11 and key = $12
)
select row_to_json(moved) as "order" from moved`;

const SUCCEEDS = new Set(['pm_card_visa', 'pm_card_mastercard']);
/** The simulated gateway's answers by gateway key, kept for the process's life like the service's. */
const charges = new Map<string, { status: 'succeeded' | 'declined'; reference: string }>();

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** An order or payment id of the service's shape (prefix, 48-bit time, 80 random bits). */
function newId(prefix: string): string {
  let time = '';
  for (let index = 0, rest = Date.now(); index < 10; index++, rest = Math.floor(rest / 32))
    time = CROCKFORD.charAt(rest % 32) + time;
  const bytes = randomBytes(16);
  let random = '';
  for (const byte of bytes) random += CROCKFORD.charAt(byte % 32);
  return `${prefix}_${time}${random}`;
}

function charge(gatewayKey: string, paymentMethod: string) {
  const earlier = charges.get(gatewayKey);
  if (earlier) return earlier;
  const outcome = {
    status: SUCCEEDS.has(paymentMethod) ? ('succeeded' as const) : ('declined' as const),
    reference: `ch_sim_${randomUUID().replaceAll('-', '')}`,
  };
  charges.set(gatewayKey, outcome);
  return outcome;
}

function toOrder(row: OrderRow, lines: LineRow[]) {
  const money = (amount: number) => ({ amount, currency: row.currency });
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    total: money(row.total_amount),
    items: lines.map((line) => ({
      productId: line.product_id,
      productName: line.product_name,
      quantity: line.quantity,
      unitPrice: money(line.unit_price_amount),
      lineTotal: money(line.line_total_amount),
    })),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Places, charges and records one order: two transactions, three statements and a COMMIT. */
export async function createOrderFloor(pool: pg.Pool, request: CreateOrderRequest): Promise<CreateOrderAnswer> {
  const input = JSON.parse(request.body) as {
    items: { productId: string; quantity: number }[];
    paymentMethod: string;
  };
  const key = request.idempotencyKey ?? null;
  const fingerprint = key === null ? null : createHash('sha256').update(request.body).digest('hex');
  const client = await pool.connect();
  let placed: PlacedRow;
  try {
    await client.query('begin');
    const result = await client.query<PlacedRow>(PLACE, [
      input.items.map((item) => item.productId),
      input.items.map((item) => item.quantity),
      newId('ord'),
      request.userId,
      input.items.length,
      key,
      fingerprint,
    ]);
    const [row] = result.rows;
    if (!row) throw new Error('the order statement answered no row');
    placed = row;
    await client.query(placed.order && placed.claimed ? 'commit' : 'rollback');
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  if (!placed.claimed) return { status: 409, body: { code: 'IDEMPOTENCY_KEY_IN_USE' } };
  if (!placed.order || !placed.lines) return { status: 409, body: { code: 'OUT_OF_STOCK' } };

  const order = placed.order;
  const outcome = charge(`${order.id}:attempt-1`, input.paymentMethod);
  const succeeded = outcome.status === 'succeeded';
  const recorded = await pool.query<{ order: OrderRow }>(RECORD, [
    newId('pay'),
    order.id,
    order.total_amount,
    order.currency,
    outcome.status,
    outcome.reference,
    succeeded ? null : 'generic_decline',
    succeeded ? null : 'Your card was declined.',
    input.paymentMethod,
    succeeded ? 'paid' : 'payment_failed',
    request.userId,
    key,
  ]);
  const moved = recorded.rows[0]?.order;
  if (!moved) return { status: 409, body: { code: 'ORDER_CHANGED' } };
  if (!succeeded) return { status: 402, body: { code: 'PAYMENT_DECLINED' } };
  return { status: 200, body: toOrder(moved, placed.lines) };
}
