import type { Order, PayOrderInput } from '@orders/shared';
import { AppError } from '../../core/errors.ts';
import { withTransaction } from '../../core/db/transaction.ts';
import { chargeAndRecord } from './charge.ts';
import type { Actor, OrdersDeps } from './deps.ts';
import { ORDER_COLUMNS } from './mappers.ts';
import { linkOrderToIdempotencyKey, type KeyClaim } from './idempotency.ts';
import { findVisibleOrder, orderNotFound } from './queries.ts';
import { linesOf, reserveStock } from './stock.ts';

export function invalidTransition(orderId: string, from: string, action: string): AppError {
  return new AppError('INVALID_STATE_TRANSITION', `Order ${orderId} is ${from}; it cannot be ${action}`, {
    context: { order_id: orderId, status: from, action },
  });
}

/**
 * Pays a payment_failed order again: its stock is taken anew (it was given back when the
 * payment failed) and the order goes back to pending_payment in one transaction, which only
 * one of several concurrent attempts can win; then it is charged like a new order.
 */
export async function payOrder(
  deps: OrdersDeps,
  { actor, ...input }: PayOrderInput & { actor: Actor },
  { keyClaim }: { keyClaim?: KeyClaim | undefined } = {},
): Promise<Order> {
  const current = await findVisibleOrder(deps.db, { orderId: input.orderId, actor: { ...actor, role: 'customer' } });
  if (current.status !== 'payment_failed') throw invalidTransition(current.id, current.status, 'paid');

  const order = await withTransaction(deps, 'reserve_for_payment', async (trx) => {
    const claimed = await trx
      .updateTable('orders')
      .set({ status: 'pending_payment', updated_at: new Date() })
      .where('id', '=', current.id)
      .where('status', '=', 'payment_failed')
      .returning(ORDER_COLUMNS)
      .executeTakeFirst();
    if (!claimed) {
      const now = await trx.selectFrom('orders').select('status').where('id', '=', current.id).executeTakeFirst();
      if (!now) throw orderNotFound(current.id);
      throw invalidTransition(current.id, now.status, 'paid');
    }
    await reserveStock(trx, await linesOf(trx, current.id));
    await linkOrderToIdempotencyKey(trx, current.id, keyClaim);
    return claimed;
  });
  return chargeAndRecord(deps, { order, paymentMethod: input.paymentMethod });
}
