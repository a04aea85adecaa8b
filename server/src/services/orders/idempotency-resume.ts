import { chargeAndRecord, paymentFailure } from './charge.ts';
import type { OrdersDeps } from './deps.ts';
import type { IdempotencyScope } from './idempotency-claim.ts';
import { ORDER_COLUMNS } from './mappers.ts';

function paymentMethodOf(request: unknown): string {
  const method = (request as { paymentMethod?: unknown } | null)?.paymentMethod;
  if (typeof method !== 'string') throw new Error('an order request without a paymentMethod cannot be resumed');
  return method;
}

/**
 * Carries on with the order a stopped request had written: one still pending_payment is
 * charged again under the same gateway key (the gateway answers its first charge, if there
 * was one, instead of charging twice) and the answer recorded. Then it answers what the first
 * request would have: the order, or, when its payment failed, the decline (402) or gateway
 * failure (502) recorded for it.
 */
export async function resumeOrder<Result>(
  deps: OrdersDeps,
  { scope, orderId }: { scope: IdempotencyScope; orderId: string },
  replay: (orderId: string) => Promise<Result>,
): Promise<Result> {
  deps.logger.info('idempotent_resume', {
    context: { idempotency_key: scope.key, operation: scope.operation, order_id: orderId },
  });
  const paymentMethod = paymentMethodOf(scope.request);
  const orderNow = () =>
    deps.db
      .selectFrom('orders')
      .select(ORDER_COLUMNS)
      .where('id', '=', orderId)
      .where('user_id', '=', scope.userId)
      .executeTakeFirst();
  const pending = await orderNow();
  if (pending?.status === 'pending_payment') await chargeAndRecord(deps, { order: pending, paymentMethod });
  const order = await orderNow();
  if (order?.status === 'payment_failed') {
    const last = await deps.db
      .selectFrom('payments')
      .select(['status', 'decline_code', 'failure_reason'])
      .where('order_id', '=', orderId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirst();
    throw paymentFailure(deps, {
      order,
      paymentMethod,
      failure:
        last?.status === 'declined' && last.decline_code !== null
          ? { declineCode: last.decline_code }
          : { unavailable: last?.failure_reason ?? 'no answer' },
    });
  }
  return replay(orderId);
}
