import type { Order } from '@orders/shared';
import { AppError } from '../../core/errors.ts';
import { withTransaction } from '../../core/db/transaction.ts';
import { PaymentGatewayUnavailableError, withGatewayTimeout } from '../payment-gateway/index.ts';
import type { Actor, OrdersDeps } from './deps.ts';
import { ORDER_COLUMNS, withLines } from './mappers.ts';
import { recordRefund } from './payment-attempt.ts';
import { findVisibleOrder } from './queries.ts';
import { canTransition, invalidTransition, moveOrder } from './state-machine.ts';
import { linesOf, releaseStock } from './stock.ts';

async function refundPaidOrder(deps: OrdersDeps, orderId: string): Promise<void> {
  const payment = await deps.db
    .selectFrom('payments')
    .select(['id', 'gateway_reference', 'amount', 'currency'])
    .where('order_id', '=', orderId)
    .where('status', '=', 'succeeded')
    .executeTakeFirst();
  if (!payment?.gateway_reference) throw new Error(`paid order ${orderId} has no succeeded payment`);
  let refund: { reference: string };
  try {
    refund = await withGatewayTimeout(
      deps.gateway.refund({
        chargeReference: payment.gateway_reference,
        amount: payment.amount,
        currency: payment.currency,
        idempotencyKey: `${orderId}:refund`,
      }),
      deps.gatewayTimeoutMs,
    );
  } catch (error) {
    if (!(error instanceof PaymentGatewayUnavailableError)) throw error;
    deps.logger.error('PaymentGatewayError', {
      reason: `Refund failed: ${error.message}`,
      context: { order_id: orderId, amount: payment.amount, currency: payment.currency },
    });
    throw new AppError(
      'PAYMENT_GATEWAY_UNAVAILABLE',
      'The refund did not go through; the order stays paid. Try again.',
      { context: { order_id: orderId }, orderId },
    );
  }
  await withTransaction(deps, 'record_refund', (trx) =>
    recordRefund(trx, { orderId, paymentId: payment.id, refundReference: refund.reference }),
  );
}

/**
 * Cancels an order: one awaiting or having failed payment becomes cancelled (stock held
 * for a pending payment is given back); a paid one is refunded through the gateway first,
 * then becomes refunded with its stock restored. Anything else is INVALID_STATE_TRANSITION.
 */
export async function cancelOrder(deps: OrdersDeps, input: { orderId: string; actor: Actor }): Promise<Order> {
  const current = await findVisibleOrder(deps.db, input);
  if (canTransition(current.status, 'refunded')) {
    await refundPaidOrder(deps, current.id);
  } else if (canTransition(current.status, 'cancelled')) {
    await withTransaction(deps, 'cancel_order', async (trx) => {
      // Locked, so the status read is the one replaced: a payment finishing meanwhile waits.
      const locked = await trx
        .selectFrom('orders')
        .select('status')
        .where('id', '=', current.id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (!canTransition(locked.status, 'cancelled')) {
        throw invalidTransition({ id: current.id, status: locked.status }, 'cancelled');
      }
      await moveOrder(trx, { orderId: current.id, to: 'cancelled' });
      // Only a pending payment still holds stock; a failed one gave it back already.
      if (locked.status === 'pending_payment') await releaseStock(trx, await linesOf(trx, current.id));
    });
  } else {
    throw invalidTransition(current, 'cancelled');
  }
  const row = await deps.db
    .selectFrom('orders')
    .select(ORDER_COLUMNS)
    .where('id', '=', current.id)
    .executeTakeFirstOrThrow();
  const [order] = await withLines(deps.db, [row]);
  if (!order) throw new Error(`order ${current.id} vanished`);
  return order;
}
