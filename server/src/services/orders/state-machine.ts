import type { Trx } from '../../core/db/transaction.ts';
import { AppError } from '../../core/errors.ts';
import type { OrderRow, OrderStatus } from '../../models/index.ts';
import { ORDER_COLUMNS } from './mappers.ts';

/** Every order starts here, holding its stock until its charge is answered. */
export const INITIAL_STATUS = 'pending_payment' satisfies OrderStatus;

/**
 * The order state machine (DESIGN, domain rules): the statuses an order may move to from each
 * status; every status change goes through it, and anything else is 409 INVALID_STATE_TRANSITION.
 * Paying a payment_failed order again takes its stock anew and holds it while the charge runs,
 * so DESIGN's `payment_failed -> (pay) -> paid` passes through pending_payment, from which the
 * charge's answer moves it on as for a new order.
 */
export const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending_payment: ['paid', 'payment_failed', 'cancelled'],
  payment_failed: ['pending_payment', 'cancelled'],
  paid: ['refunded'],
  cancelled: [],
  refunded: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * The statuses an order may move to `to` from: the `where status in (...)` of a conditional
 * update, which only an order still in one of them can pass, however many requests race for it.
 */
export function statusesLeadingTo(to: OrderStatus): OrderStatus[] {
  return (Object.keys(TRANSITIONS) as OrderStatus[]).filter((from) => canTransition(from, to));
}

/**
 * Moves an order to `to` in one conditional update that only an order whose status allows it
 * passes; undefined when it did not (it is in another status now, or gone).
 */
export async function moveOrder(
  trx: Trx,
  { orderId, to }: { orderId: string; to: OrderStatus },
): Promise<OrderRow | undefined> {
  return trx
    .updateTable('orders')
    .set({ status: to, updated_at: new Date() })
    .where('id', '=', orderId)
    .where('status', 'in', statusesLeadingTo(to))
    .returning(ORDER_COLUMNS)
    .executeTakeFirst();
}

/** What a caller asks of an order, as its refusal names it: "it cannot be paid". */
export type OrderAction = 'paid' | 'cancelled';

/** 409 INVALID_STATE_TRANSITION: the order's status does not allow what was asked of it. */
export function invalidTransition(order: { id: string; status: OrderStatus }, asked: OrderAction): AppError {
  return new AppError('INVALID_STATE_TRANSITION', `Order ${order.id} is ${order.status}; it cannot be ${asked}`, {
    context: { order_id: order.id, status: order.status, action: asked },
  });
}

/** 409 INVALID_STATE_TRANSITION: the order left pending_payment (a cancel) while its charge ran. */
export function changedWhilePaying(orderId: string): AppError {
  return new AppError('INVALID_STATE_TRANSITION', `Order ${orderId} changed while it was being paid`, {
    context: { order_id: orderId },
  });
}
