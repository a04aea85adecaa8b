import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { liveAccount } from './live-account.ts';

/**
 * The floor of `orders.create`: the same work as the service's, in the fewest round trips.
 *
 * First transaction, one statement: the caller's account checked as the service checks every
 * authenticated request (the user exists, is not disabled, and the token's session still has a
 * live refresh token), the lines' products locked in id order, and only when the account passes,
 * every line can be served (active, in stock, one currency) and, under an Idempotency-Key, the key
 * could be claimed: the stock taken, the order written with its total, its lines written, the
 * key claimed with the order linked. The simulated charge stores its answer under the gateway
 * key in the database's ledger, as the service's simulated gateway does (one statement, outside
 * any transaction). Second transaction, one statement: the payment recorded, the order moved to
 * paid (or to payment_failed with its stock given back), the key marked done. No validation
 * past what the statements need, no framework.
 */

export interface CreateOrderRequest {
  userId: string;
  /** The access token's session (its `sid`). */
  sessionId: string;
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
  account_ok: boolean;
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

// One statement, a transaction of its own: the products locked in id order, every line checked,
// and every write conditional on the checks (and on the key's claim), so a refusal writes nothing.
const PLACE = `with account as (
  select where ${liveAccount('$4', '$8')}
), wanted as (
  select * from unnest($1::text[], $2::int[]) as w(product_id, quantity)
), locked as materialized (
  select id, name, price_amount, currency, stock, active from products
  where id = any($1::text[]) order by id for update
), priced as (
  select locked.id, locked.name, locked.price_amount, locked.currency, wanted.quantity
  from wanted join locked on locked.id = wanted.product_id
  where locked.active and locked.stock >= wanted.quantity
), verdict as (
  select count(*) = $5 and count(distinct currency) = 1 and exists (select from account) as served,
    min(currency) as currency,
    sum(price_amount * quantity) as total
  from priced
), claimed as (
  insert into idempotency_keys (user_id, key, operation, fingerprint, state, order_id)
  select $4, $6, 'orders.create', $7, 'in_progress', $3 from verdict where served and $6::text is not null
  on conflict do nothing
  returning key
), go as (
  select from verdict where served and ($6::text is null or exists (select from claimed))
), taken as (
  update products p set stock = p.stock - priced.quantity, updated_at = now()
  from priced where p.id = priced.id and exists (select from go)
), placed as (
  insert into orders (id, user_id, status, currency, total_amount)
  select $3, $4, 'pending_payment', currency, total from verdict where exists (select from go)
  returning id, user_id, status, currency, total_amount, created_at, updated_at
), lines as (
  insert into order_items (order_id, product_id, product_name, quantity, unit_price_amount, line_total_amount)
  select placed.id, priced.id, priced.name, priced.quantity, priced.price_amount, priced.price_amount * priced.quantity
  from placed, priced
  returning product_id, product_name, quantity, unit_price_amount, line_total_amount
)
select exists (select from account) as account_ok, (select row_to_json(placed) from placed) as "order",
  (select json_agg(lines order by product_id) from lines) as lines,
  $6::text is null or exists (select from claimed) or not (select served from verdict) as claimed`;

/** The simulated gateway's ledger, in the database as the service's simulated gateway keeps it. */
const LEDGER = `insert into simulated_gateway_ledger (idempotency_key, kind, reference, status, decline_code, message,
    amount, currency, order_id)
  values ($1, 'charge', $2, $3, $4, $5, $6, $7, $8)
  on conflict (idempotency_key) do nothing
  returning reference, status`;

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

/** The simulated charge: its answer stored under the gateway key (the first answer under a key wins). */
async function charge(
  pool: pg.Pool,
  { gatewayKey, paymentMethod, order }: { gatewayKey: string; paymentMethod: string; order: OrderRow },
) {
  const succeeded = SUCCEEDS.has(paymentMethod);
  const { rows } = await pool.query<{ reference: string; status: 'succeeded' | 'declined' }>(LEDGER, [
    gatewayKey,
    `ch_sim_${randomUUID().replaceAll('-', '')}`,
    succeeded ? 'succeeded' : 'declined',
    succeeded ? null : 'generic_decline',
    succeeded ? null : 'Your card was declined.',
    order.total_amount,
    order.currency,
    order.id,
  ]);
  const [stored] = rows;
  if (!stored) throw new Error(`gateway key ${gatewayKey} was charged before`);
  return stored;
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

/** Places, charges and records one order: three statements, each a transaction of its own. */
export async function createOrderFloor(pool: pg.Pool, request: CreateOrderRequest): Promise<CreateOrderAnswer> {
  const input = JSON.parse(request.body) as {
    items: { productId: string; quantity: number }[];
    paymentMethod: string;
  };
  const key = request.idempotencyKey ?? null;
  const fingerprint = key === null ? null : createHash('sha256').update(request.body).digest('hex');
  const result = await pool.query<PlacedRow>(PLACE, [
    input.items.map((item) => item.productId),
    input.items.map((item) => item.quantity),
    newId('ord'),
    request.userId,
    input.items.length,
    key,
    fingerprint,
    request.sessionId,
  ]);
  const [placed] = result.rows;
  if (!placed) throw new Error('the order statement answered no row');
  if (!placed.account_ok) return { status: 401, body: { code: 'UNAUTHORIZED' } };
  if (!placed.claimed) return { status: 409, body: { code: 'IDEMPOTENCY_KEY_IN_USE' } };
  if (!placed.order || !placed.lines) return { status: 409, body: { code: 'OUT_OF_STOCK' } };

  const order = placed.order;
  const outcome = await charge(pool, {
    gatewayKey: `${order.id}:attempt-1`,
    paymentMethod: input.paymentMethod,
    order,
  });
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
