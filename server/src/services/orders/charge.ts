import type { Order } from '@orders/shared';
import { AppError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { withTransaction } from '../../core/transaction.ts';
import type { OrderRow } from '../../models/index.ts';
import { PaymentGatewayUnavailableError, withGatewayTimeout, type ChargeOutcome } from '../payment-gateway/index.ts';
import type { OrdersDeps } from './deps.ts';
import { ORDER_COLUMNS, withLines } from './mappers.ts';
import { linesOf, releaseStock } from './stock.ts';

type Attempt = ChargeOutcome | { status: 'failed'; error: PaymentGatewayUnavailableError };

async function callGateway(deps: OrdersDeps, order: OrderRow, paymentMethod: string): Promise<Attempt> {
  // Only answered attempts count: after a failed one (a timeout, say) nobody knows whether the
  // card was charged, so the next attempt reuses its key and the gateway answers that charge.
  const attempts = await deps.db
    .selectFrom('payments')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('order_id', '=', order.id)
    .where('status', '!=', 'failed')
    .executeTakeFirstOrThrow();
  try {
    return await withGatewayTimeout(
      deps.gateway.charge({
        amount: order.total_amount,
        currency: order.currency,
        paymentMethod,
        orderId: order.id,
        // One key per attempt: a retry of this attempt is never charged twice at the gateway.
        idempotencyKey: `${order.id}:attempt-${Number(attempts.count) + 1}`,
      }),
      deps.gatewayTimeoutMs,
    );
  } catch (error) {
    const unavailable =
      error instanceof PaymentGatewayUnavailableError
        ? error
        : new PaymentGatewayUnavailableError(error instanceof Error ? error.message : String(error), 'unreachable');
    return { status: 'failed', error: unavailable };
  }
}

function humanDecline(code: string): string {
  return code.replaceAll('_', ' ');
}

/**
 * Charges an order that holds its stock (status pending_payment) outside any transaction,
 * then records the attempt and its outcome in one: paid; or payment_failed with the stock
 * given back. A decline is 402 PAYMENT_DECLINED and a gateway failure 502
 * PAYMENT_GATEWAY_UNAVAILABLE, each logged as `PaymentGatewayError` with its context.
 */
export async function chargeAndRecord(
  deps: OrdersDeps,
  { order, paymentMethod }: { order: OrderRow; paymentMethod: string },
): Promise<Order> {
  const attempt = await callGateway(deps, order, paymentMethod);
  const paymentStatus = attempt.status;
  const paymentId = newId('pay');

  const recorded = await withTransaction(deps, 'record_payment', async (trx) => {
    await trx
      .insertInto('payments')
      .values({
        id: paymentId,
        order_id: order.id,
        amount: order.total_amount,
        currency: order.currency,
        status: paymentStatus,
        gateway: deps.gateway.name,
        gateway_reference: attempt.status === 'failed' ? null : attempt.reference,
        decline_code: attempt.status === 'declined' ? attempt.declineCode : null,
        failure_reason:
          attempt.status === 'declined' ? attempt.message : attempt.status === 'failed' ? attempt.error.message : null,
        payment_method: paymentMethod,
      })
      .execute();
    const updated = await trx
      .updateTable('orders')
      .set({ status: paymentStatus === 'succeeded' ? 'paid' : 'payment_failed', updated_at: new Date() })
      .where('id', '=', order.id)
      .where('status', '=', 'pending_payment')
      .returning(ORDER_COLUMNS)
      .executeTakeFirst();
    if (updated && paymentStatus !== 'succeeded') await releaseStock(trx, await linesOf(trx, order.id));
    return updated;
  });

  if (!recorded) {
    // The order left pending_payment while the gateway worked (cancelled): no money may stay taken.
    if (attempt.status === 'succeeded') {
      const refund = await withGatewayTimeout(
        deps.gateway.refund({
          chargeReference: attempt.reference,
          amount: order.total_amount,
          currency: order.currency,
          idempotencyKey: `${order.id}:refund-late-charge`,
        }),
        deps.gatewayTimeoutMs,
      );
      await deps.db
        .updateTable('payments')
        .set({ status: 'refunded', refund_reference: refund.reference, refunded_at: new Date() })
        .where('id', '=', paymentId)
        .execute();
      deps.logger.warn('late_charge_refunded', { context: { order_id: order.id, reference: attempt.reference } });
    }
    throw new AppError('INVALID_STATE_TRANSITION', `Order ${order.id} changed while it was being paid`, {
      context: { order_id: order.id },
    });
  }

  if (attempt.status !== 'succeeded') {
    const declined = attempt.status === 'declined';
    const reason = declined
      ? `Card declined: ${humanDecline(attempt.declineCode)}`
      : `Payment gateway unavailable: ${attempt.error.kind.replaceAll('_', ' ')}`;
    const context = {
      amount: order.total_amount,
      currency: order.currency,
      order_id: order.id,
      decline_code: declined ? attempt.declineCode : null,
      payment_method: paymentMethod,
    };
    deps.logger.error('PaymentGatewayError', { reason, context });
    throw declined
      ? new AppError(
          'PAYMENT_DECLINED',
          `${reason}. The order is kept as payment_failed; pay it with another method.`,
          {
            context,
          },
        )
      : new AppError(
          'PAYMENT_GATEWAY_UNAVAILABLE',
          `${reason}. The order is kept as payment_failed; try paying it again.`,
          {
            context,
          },
        );
  }
  const [paid] = await withLines(deps.db, [recorded]);
  if (!paid) throw new Error(`order ${order.id} vanished after payment`);
  return paid;
}
