import { MAX_MONEY_AMOUNT } from '@orders/shared';
import { sql } from 'kysely';
import type { Db } from '../../core/db/database.ts';
import type { OrderRow } from '../../models/index.ts';
import type { KeyClaim } from './idempotency-claim.ts';
import { ORDER_COLUMNS } from './mappers.ts';
import type { PendingAttempt } from './payment-attempt.ts';
import { INITIAL_STATUS } from './state-machine.ts';

/** A product of the order as its row was when locked: what a refusal explains itself with. */
export interface LockedProduct {
  id: string;
  name: string;
  price_amount: number;
  currency: string;
  stock: number;
  active: boolean;
}

export interface PlaceOrderInput {
  orderId: string;
  paymentId: string;
  userId: string;
  items: { productId: string; quantity: number }[];
  paymentMethod: string;
  gateway: string;
  /**
   * The request's claim on its Idempotency-Key: the order is linked to it in the same statement
   * (which first claims the key, when it is new and not claimed yet: see `KeyClaim.unclaimed`).
   */
  keyClaim: KeyClaim | undefined;
}

export interface PlaceOrderResult {
  /** The order written, or null when a line could not be served (nothing was changed). */
  order: OrderRow | null;
  /** The order's products as locked (inactive ones included), for the refusal's reason. */
  products: LockedProduct[];
  /** The payment attempt written `pending` with its gateway key, when the order was. */
  pending: PendingAttempt | null;
  /**
   * False when the request does not hold its Idempotency-Key (nothing placed): another request
   * took it over meanwhile, or, for a key to be claimed here, the key was there already.
   */
  keyHeld: boolean;
}

/**
 * Places an order in one statement, the whole of the work that holds the products' row locks:
 * the products locked in id order (two orders never wait on each other's rows), every line
 * checked (active, in stock, one currency, the total within MAX_MONEY_AMOUNT), and only when
 * every line passes and the request holds its Idempotency-Key (if it has one; a new key is
 * claimed here, after the products' locks, the order every placing statement takes): the stock
 * taken, the order and its lines written, its first payment attempt written `pending` with its
 * gateway key, and the order linked to the key. Otherwise nothing is written, and the locked
 * rows say why. Every write is conditional on the checks, so the statement is a transaction
 * of its own (`withOneStatement`).
 *
 * The checks here and `whyNotPlaced` (create-order.ts) are the same rules; the amounts are
 * summed as bigint, so no total overflows before it is compared with the maximum.
 */
export async function placeOrderRow(db: Db, input: PlaceOrderInput): Promise<PlaceOrderResult> {
  const productIds = input.items.map((item) => item.productId);
  const quantities = input.items.map((item) => item.quantity);
  const key = input.keyClaim ?? null;
  const newKey = key?.unclaimed ?? null;
  const attemptKey = `${input.orderId}:attempt-1`;
  const { rows } = await sql<PlacedRow>`/* place_order */ with wanted as (
  select product_id, quantity from unnest(${productIds}::text[], ${quantities}::int[]) as w(product_id, quantity)
), locked as materialized (
  select id, name, price_amount, currency, stock, active from products
  where id = any(${productIds}::text[])
    -- A key to claim that is there already (a retry, most likely): nothing to lock.
    and not (${newKey !== null} and exists (
      select from idempotency_keys where user_id = ${key?.userId ?? null} and key = ${key?.key ?? null}))
  order by id for update
), priced as (
  select locked.id, locked.name, locked.price_amount, locked.currency, wanted.quantity,
    locked.price_amount::bigint * wanted.quantity as line_total
  from wanted join locked on locked.id = wanted.product_id
  where locked.active and locked.stock >= wanted.quantity
), lines_verdict as (
  select count(*) = ${input.items.length} and count(distinct currency) = 1
      and sum(line_total) <= ${MAX_MONEY_AMOUNT} as lines_ok,
    min(currency) as currency, sum(line_total) as total
  from priced
), held_key as materialized (
  select key from idempotency_keys
  where user_id = ${key?.userId ?? null} and key = ${key?.key ?? null} and claimed_by = ${key?.token ?? null}
    and ${newKey === null}
  for update
), new_key as (
  insert into idempotency_keys (user_id, key, operation, fingerprint, state, claimed_by, order_id)
  select ${key?.userId ?? null}, ${key?.key ?? null}, ${newKey?.operation ?? null}, ${newKey?.fingerprint ?? null},
    'in_progress', ${key?.token ?? null}, case when lines_ok then ${input.orderId} end
  from lines_verdict where ${newKey !== null}
  on conflict (user_id, key) do nothing
  returning key
), verdict as (
  select lines_ok and (${key === null} or exists (select from held_key) or exists (select from new_key)) as served,
    currency, total
  from lines_verdict
), taken as (
  update products set stock = products.stock - priced.quantity, updated_at = now()
  from priced where products.id = priced.id and (select served from verdict)
), placed as (
  insert into orders (id, user_id, status, currency, total_amount)
  select ${input.orderId}, ${input.userId}, ${INITIAL_STATUS}, currency, total::integer from verdict where served
  returning ${sql.join(ORDER_COLUMNS.map((column) => sql.ref(column)))}
), lines as (
  insert into order_items (order_id, product_id, product_name, quantity, unit_price_amount, line_total_amount)
  select placed.id, priced.id, priced.name, priced.quantity, priced.price_amount, priced.line_total::integer
  from placed, priced
), attempt as (
  insert into payments (id, order_id, amount, currency, payment_method, idempotency_key, status, gateway)
  select ${input.paymentId}, placed.id, placed.total_amount, placed.currency, ${input.paymentMethod},
    ${attemptKey}, 'pending', ${input.gateway}
  from placed
), linked as (
  update idempotency_keys set order_id = placed.id from placed, held_key
  where idempotency_keys.user_id = ${key?.userId ?? null} and idempotency_keys.key = held_key.key
)
select placed.*,
  (select coalesce(json_agg(locked), '[]') from locked) as products,
  exists (select from held_key) or exists (select from new_key) as key_held
from (select) as one left join placed on true`.execute(db);
  const [row] = rows;
  if (!row) throw new Error('the order statement returned no row');
  const { products, key_held, ...order } = row;
  const keyHeld = key === null || key_held;
  if (order.id === null) return { order: null, products, pending: null, keyHeld };
  const placed = order as OrderRow;
  return {
    order: placed,
    products,
    pending: {
      id: input.paymentId,
      order_id: placed.id,
      amount: placed.total_amount,
      currency: placed.currency,
      payment_method: input.paymentMethod,
      idempotency_key: attemptKey,
    },
    keyHeld,
  };
}

type PlacedRow = { [Column in keyof OrderRow]: OrderRow[Column] | null } & {
  products: LockedProduct[];
  key_held: boolean;
};
