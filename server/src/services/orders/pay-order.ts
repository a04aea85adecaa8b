import type { Order, PayOrderInput } from '@orders/shared';
import { withTransaction } from '../../core/db/transaction.ts';
import { chargeAndRecord } from './charge.ts';
import { beginAttempt } from './payment-attempt.ts';
import type { Actor, OrdersDeps } from './deps.ts';
import type { KeyClaim } from './idempotency-claim.ts';
import { linkOrderToIdempotencyKey } from './idempotency-record.ts';
import { withIdempotencyKey } from './idempotency.ts';
import { findVisibleOrder, orderNotFound } from './queries.ts';
import { canTransition, invalidTransition, moveOrder } from './state-machine.ts';
import { linesOf, reserveStock } from './stock.ts';

/**
 * Pays a payment_failed order again, under the request's Idempotency-Key when it has one: its
 * stock is taken anew (it was given back when the payment failed) and the order goes back to
 * pending_payment in one transaction, which only one of several concurrent attempts can win;
 * then it is charged like a new order.
 */
export function payOrder(
  deps: OrdersDeps,
  { actor, idempotencyKey, ...input }: PayOrderInput & { actor: Actor; idempotencyKey?: string | undefined },
): Promise<Order> {
  return withIdempotencyKey(
    deps,
    { userId: actor.id, idempotencyKey, operation: 'orders.pay', request: input },
    { place: (keyClaim) => payAgain(deps, { actor, ...input }, keyClaim) },
  );
}

async function payAgain(
  deps: OrdersDeps,
  { actor, ...input }: PayOrderInput & { actor: Actor },
  keyClaim: KeyClaim | undefined,
): Promise<Order> {
  const current = await findVisibleOrder(deps.db, { orderId: input.orderId, actor: { ...actor, role: 'customer' } });
  if (!canTransition(current.status, 'pending_payment')) throw invalidTransition(current, 'paid');

  const order = await withTransaction(deps, 'reserve_for_payment', async (trx) => {
    const claimed = await moveOrder(trx, { orderId: current.id, to: 'pending_payment' });
    if (!claimed) {
      const now = await trx.selectFrom('orders').select('status').where('id', '=', current.id).executeTakeFirst();
      if (!now) throw orderNotFound(current.id);
      throw invalidTransition({ id: current.id, status: now.status }, 'paid');
    }
    await reserveStock(trx, await linesOf(trx, current.id));
    await linkOrderToIdempotencyKey(trx, current.id, keyClaim);
    const pending = await beginAttempt(trx, {
      order: claimed,
      paymentMethod: input.paymentMethod,
      gateway: deps.gateway.name,
    });
    return { order: claimed, pending };
  });
  return chargeAndRecord(deps, { ...order, paymentMethod: input.paymentMethod, keyClaim });
}
