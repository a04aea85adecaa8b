import { sql } from 'kysely';
import { newId } from '../../core/ids.ts';
import { withOneStatement, type Trx } from '../../core/db/transaction.ts';
import type { Db } from '../../core/db/database.ts';
import type { OrderRow, PaymentRow } from '../../models/index.ts';
import type { ChargeOutcome, PaymentGatewayUnavailableError } from '../payment-gateway/index.ts';
import type { OrdersDeps } from './deps.ts';
import type { KeyClaim } from './idempotency-claim.ts';
import { ORDER_COLUMNS } from './mappers.ts';
import { canTransition, moveOrder, statusesLeadingTo } from './state-machine.ts';
import { linesOf, releaseStock } from './stock.ts';

/** What the gateway said to one attempt, or that it could not say (timeout, outage, processing error). */
export type Attempt = ChargeOutcome | { status: 'failed'; error: PaymentGatewayUnavailableError };

/** A payment row written `pending` before its gateway call: what a replay of the call needs. */
export type PendingAttempt = Pick<
  PaymentRow,
  'id' | 'order_id' | 'amount' | 'currency' | 'payment_method' | 'idempotency_key'
> & { idempotency_key: string };

export const PENDING_COLUMNS = ['id', 'order_id', 'amount', 'currency', 'payment_method', 'idempotency_key'] as const;

/**
 * Writes the attempt as `pending` with the gateway idempotency key it will be charged under,
 * before the gateway is called: a process dying while the gateway works leaves this row for the
 * reconciler. An attempt of the order still pending (its request stopped and is being resumed)
 * is reused with its key, so the gateway answers that charge instead of taking another. Runs in
 * the transaction that puts the order in pending_payment (creating or paying it again).
 */
export async function beginAttempt(
  trx: Trx,
  { order, paymentMethod, gateway }: { order: OrderRow; paymentMethod: string; gateway: string },
): Promise<PendingAttempt> {
  const open = await trx
    .selectFrom('payments')
    .select(PENDING_COLUMNS)
    .where('order_id', '=', order.id)
    .where('status', '=', 'pending')
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
  if (open?.idempotency_key) return { ...open, idempotency_key: open.idempotency_key };
  // Only answered attempts count: after a failed one (a timeout, say) nobody knows whether the
  // card was charged, so the next attempt reuses its key and the gateway answers that charge.
  const attempts = await trx
    .selectFrom('payments')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('order_id', '=', order.id)
    .where('status', '!=', 'failed')
    .executeTakeFirstOrThrow();
  const attempt: PendingAttempt = {
    id: newId('pay'),
    order_id: order.id,
    amount: order.total_amount,
    currency: order.currency,
    payment_method: paymentMethod,
    // One key per attempt: a retry of this attempt is never charged twice at the gateway.
    idempotency_key: `${order.id}:attempt-${Number(attempts.count) + 1}`,
  };
  await trx
    .insertInto('payments')
    .values({ ...attempt, status: 'pending', gateway })
    .execute();
  return attempt;
}

export interface Recorded {
  /** The order once the attempt is recorded. */
  order: OrderRow;
  /** A succeeded payment of an order that is not paid (it was cancelled while the gateway worked): to refund. */
  lateCharge: { paymentId: string; reference: string; amount: number; currency: string } | undefined;
  /** The request's Idempotency-Key was marked done with this outcome in the same statement. */
  keyFinished: boolean;
}

/**
 * The request's Idempotency-Key, to be marked done with the attempt's outcome when the order
 * moves (paid, or payment_failed with the error the request answers): the key's last write
 * rides on the outcome's statement instead of a statement of its own.
 */
export interface KeyToFinish {
  claim: KeyClaim;
  /** The error the request answers when the attempt did not succeed. */
  failure: { code: string; message: string } | undefined;
}

/**
 * Records one gateway answer for a pending attempt inside `trx`: the attempt, and the order's
 * new status (paid, or payment_failed with its stock given back). The synchronous path, the
 * reconciler and webhooks all record through here, in any order: only the first to find the
 * attempt still `pending` records it; the others change nothing. A charge that succeeded for an
 * order which left pending_payment meanwhile (cancelled) comes back as `lateCharge`, to refund.
 */
export async function recordOutcome(
  db: Db | Trx,
  {
    orderId,
    paymentId,
    attempt,
    finishKey,
  }: { orderId: string; paymentId: string; attempt: Attempt; finishKey?: KeyToFinish | undefined },
): Promise<Recorded> {
  const answered = attempt.status === 'succeeded' ? 'paid' : 'payment_failed';
  const reference = attempt.status === 'failed' ? null : attempt.reference;
  // A timeout may still end in a charge after the caller gave up: marked for the reconciler.
  const unknown = attempt.status === 'failed' && attempt.error.kind === 'timeout';
  // One statement: the order locked first, then the payment, in every path (a cancel running
  // meanwhile waits, or is done); the attempt recorded only while still pending, the order moved
  // only when the attempt was recorded and its status allows it, the stock given back with a
  // failure (its rows locked in id order, as they are taken). A row locked after a wait is read as it is now, and the updates then see it so too.
  const { rows } = await sql<RecordedRow>`/* record_payment */ with locked as materialized (
  select ${sql.join(ORDER_COLUMNS.map((column) => sql.ref(`o.${column}`)))},
    p.status as payment_status, p.gateway_reference, p.amount as payment_amount, p.currency as payment_currency
  from orders o join payments p on p.order_id = o.id
  where o.id = ${orderId} and p.id = ${paymentId}
  for update of o, p
), recorded as (
  update payments set status = ${attempt.status}, gateway_reference = ${reference},
    decline_code = ${attempt.status === 'declined' ? attempt.declineCode : null},
    failure_reason = ${attempt.status === 'declined' ? attempt.message : attempt.status === 'failed' ? attempt.error.message : null},
    outcome_unknown_since = case when ${unknown} then now() end, updated_at = now()
  where id = ${paymentId} and (select payment_status from locked) = 'pending'
  returning id
), moved as (
  update orders set status = ${answered}, updated_at = now()
  where id = ${orderId} and status = any(${statusesLeadingTo(answered)}::text[]) and exists (select from recorded)
  returning status, updated_at
), finished as (
  update idempotency_keys set state = 'done', order_id = ${orderId},
    error_code = ${finishKey?.failure?.code ?? null}, error_message = ${finishKey?.failure?.message ?? null}
  where user_id = ${finishKey?.claim.userId ?? null} and key = ${finishKey?.claim.key ?? null}
    and claimed_by = ${finishKey?.claim.token ?? null} and exists (select from moved)
  returning key
), giving_back as materialized (
  select products.id, order_items.quantity from products join order_items on order_items.product_id = products.id
  where ${answered} = 'payment_failed' and order_items.order_id = ${orderId} and exists (select from moved)
  order by products.id for update of products
), released as (
  update products set stock = products.stock + giving_back.quantity, updated_at = now()
  from giving_back where products.id = giving_back.id
)
select locked.*, moved.status as moved_status, moved.updated_at as moved_updated_at,
  exists (select from finished) as key_finished
from locked left join moved on true`.execute(db);
  const [row] = rows;
  if (!row) throw new Error(`no payment ${paymentId} of order ${orderId}`);
  const {
    payment_status,
    gateway_reference,
    payment_amount,
    payment_currency,
    moved_status,
    moved_updated_at,
    key_finished: keyFinished,
    ...locked
  } = row;
  const lateCharge = (charged: string | null): Recorded['lateCharge'] =>
    charged === null
      ? undefined
      : { paymentId, reference: charged, amount: payment_amount, currency: payment_currency };
  if (payment_status !== 'pending') {
    const late = payment_status === 'succeeded' && locked.status !== 'paid';
    return { order: locked, lateCharge: late ? lateCharge(gateway_reference) : undefined, keyFinished };
  }
  if (!canTransition(locked.status, answered)) {
    return {
      order: locked,
      lateCharge: attempt.status === 'succeeded' ? lateCharge(reference) : undefined,
      keyFinished,
    };
  }
  if (moved_status === null || moved_updated_at === null) {
    throw new Error(`order ${orderId} left ${locked.status} while locked`);
  }
  return {
    order: { ...locked, status: moved_status, updated_at: moved_updated_at },
    lateCharge: undefined,
    keyFinished,
  };
}

type RecordedRow = OrderRow & {
  payment_status: PaymentRow['status'];
  gateway_reference: string | null;
  payment_amount: number;
  payment_currency: string;
  moved_status: OrderRow['status'] | null;
  moved_updated_at: Date | null;
  key_finished: boolean;
};

/**
 * Records a refund the gateway made of a paid order's payment inside `trx`: the payment
 * refunded, the order refunded with its stock given back. False when the order is not paid
 * (a redelivery, or the refund of a late charge whose order never was).
 */
export async function recordRefund(
  trx: Trx,
  { orderId, paymentId, refundReference }: { orderId: string; paymentId: string; refundReference: string },
): Promise<boolean> {
  const refunded = await moveOrder(trx, { orderId, to: 'refunded' });
  await trx
    .updateTable('payments')
    .set({ status: 'refunded', refund_reference: refundReference, refunded_at: new Date(), updated_at: new Date() })
    .where('id', '=', paymentId)
    .where('status', '=', 'succeeded')
    .execute();
  if (!refunded) return false;
  await releaseStock(trx, await linesOf(trx, orderId));
  return true;
}

/** Runs `recordOutcome`, one statement, as a transaction of its own. */
export function recordOutcomeAlone(
  deps: OrdersDeps,
  input: { orderId: string; paymentId: string; attempt: Attempt; finishKey?: KeyToFinish | undefined },
): Promise<Recorded> {
  return withOneStatement(deps, 'record_payment', (db) => recordOutcome(db, input));
}
