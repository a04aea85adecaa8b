import type { Order } from '@orders/shared';
import { isDatabaseUnavailable } from '../../core/db/database-errors.ts';
import { AppError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { withTransaction } from '../../core/db/transaction.ts';
import type { OrderRow } from '../../models/index.ts';
import { PaymentGatewayUnavailableError, withGatewayTimeout, type ChargeOutcome } from '../payment-gateway/index.ts';
import { retryWhenDatabaseReturns } from './deferred-write.ts';
import type { OrdersDeps } from './deps.ts';
import { ORDER_COLUMNS, withLines } from './mappers.ts';
import { canTransition, changedWhilePaying, moveOrder } from './state-machine.ts';
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

type Recorded = {
  /** The order once the attempt is recorded. */
  order: OrderRow;
  /** A succeeded payment of an order that is not paid (it was cancelled while the gateway worked): to refund. */
  lateCharge: { paymentId: string; reference: string } | undefined;
};

/**
 * Records one gateway answer in one transaction: the attempt, and the order's new status (paid,
 * or payment_failed with its stock given back). It may run more than once for one answer (again
 * after a commit whose acknowledgement was lost, or from a retry that resumed the order and got
 * the same answer from the gateway under the same key): an answer already recorded, found by
 * payment id or gateway reference, is not recorded twice. A charge that succeeded for an order
 * which left pending_payment meanwhile (cancelled) is refunded.
 */
async function recordAttempt(
  deps: OrdersDeps,
  {
    order,
    paymentMethod,
    attempt,
    paymentId,
  }: { order: OrderRow; paymentMethod: string; attempt: Attempt; paymentId: string },
): Promise<OrderRow> {
  const reference = attempt.status === 'failed' ? null : attempt.reference;
  const recorded = await withTransaction(deps, 'record_payment', async (trx): Promise<Recorded> => {
    // Locked, so the status read is the one replaced: a cancel running meanwhile waits, or is done.
    const locked = await trx
      .selectFrom('orders')
      .select(ORDER_COLUMNS)
      .where('id', '=', order.id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const known = await trx
      .selectFrom('payments')
      .select(['id', 'status', 'gateway_reference'])
      .where('order_id', '=', order.id)
      .where((eb) =>
        reference === null
          ? eb('id', '=', paymentId)
          : eb.or([eb('id', '=', paymentId), eb('gateway_reference', '=', reference)]),
      )
      .executeTakeFirst();
    if (known) {
      const late = known.status === 'succeeded' && locked.status !== 'paid' && known.gateway_reference !== null;
      return {
        order: locked,
        lateCharge: late ? { paymentId: known.id, reference: known.gateway_reference ?? '' } : undefined,
      };
    }
    await trx
      .insertInto('payments')
      .values({
        id: paymentId,
        order_id: order.id,
        amount: order.total_amount,
        currency: order.currency,
        status: attempt.status,
        gateway: deps.gateway.name,
        gateway_reference: reference,
        decline_code: attempt.status === 'declined' ? attempt.declineCode : null,
        failure_reason:
          attempt.status === 'declined' ? attempt.message : attempt.status === 'failed' ? attempt.error.message : null,
        payment_method: paymentMethod,
      })
      .execute();
    const answered = attempt.status === 'succeeded' ? 'paid' : 'payment_failed';
    if (!canTransition(locked.status, answered)) {
      return {
        order: locked,
        lateCharge: attempt.status === 'succeeded' ? { paymentId, reference: attempt.reference } : undefined,
      };
    }
    const updated = await moveOrder(trx, { orderId: order.id, to: answered });
    if (!updated) throw new Error(`order ${order.id} left ${locked.status} while locked`);
    if (attempt.status !== 'succeeded') await releaseStock(trx, await linesOf(trx, order.id));
    return { order: updated, lateCharge: undefined };
  });
  if (recorded.lateCharge) await refundLateCharge(deps, { order, ...recorded.lateCharge });
  return recorded.order;
}

/** No money may stay taken for an order that was cancelled while its charge was in flight. */
async function refundLateCharge(
  deps: OrdersDeps,
  { order, paymentId, reference }: { order: OrderRow; paymentId: string; reference: string },
): Promise<void> {
  const refund = await withGatewayTimeout(
    deps.gateway.refund({
      chargeReference: reference,
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
  deps.logger.warn('late_charge_refunded', { context: { order_id: order.id, reference } });
}

/**
 * The error a payment_failed order answers with, logged as `PaymentGatewayError`: 402
 * PAYMENT_DECLINED for a decline, 502 PAYMENT_GATEWAY_UNAVAILABLE when the gateway failed.
 */
export function paymentFailure(
  deps: Pick<OrdersDeps, 'logger'>,
  {
    order,
    paymentMethod,
    failure,
  }: { order: OrderRow; paymentMethod: string; failure: { declineCode: string } | { unavailable: string } },
): AppError {
  const declined = 'declineCode' in failure;
  const reason = declined
    ? `Card declined: ${humanDecline(failure.declineCode)}`
    : `Payment gateway unavailable: ${failure.unavailable}`;
  const context = {
    amount: order.total_amount,
    currency: order.currency,
    order_id: order.id,
    decline_code: declined ? failure.declineCode : null,
    payment_method: paymentMethod,
  };
  deps.logger.error('PaymentGatewayError', { reason, context });
  return declined
    ? new AppError('PAYMENT_DECLINED', `${reason}. The order is kept as payment_failed; pay it with another method.`, {
        context,
        orderId: order.id,
      })
    : new AppError(
        'PAYMENT_GATEWAY_UNAVAILABLE',
        `${reason}. The order is kept as payment_failed; try paying it again.`,
        { context, orderId: order.id },
      );
}

/**
 * Charges an order that holds its stock (status pending_payment) outside any transaction,
 * then records the attempt and its outcome in one: paid; or payment_failed with the stock
 * given back. A decline is 402 PAYMENT_DECLINED and a gateway failure 502
 * PAYMENT_GATEWAY_UNAVAILABLE, each logged as `PaymentGatewayError` with its context.
 *
 * Once the gateway has answered, its answer is recorded even if the database is gone at that
 * moment: the request answers 503, and the record is written in the background as soon as the
 * database is back (a charge must never be taken and forgotten).
 */
export async function chargeAndRecord(
  deps: OrdersDeps,
  { order, paymentMethod }: { order: OrderRow; paymentMethod: string },
): Promise<Order> {
  const attempt = await callGateway(deps, order, paymentMethod);
  const paymentId = newId('pay');
  const record = () => recordAttempt(deps, { order, paymentMethod, attempt, paymentId });
  let recorded: OrderRow;
  try {
    recorded = await record();
  } catch (error) {
    if (isDatabaseUnavailable(error)) {
      retryWhenDatabaseReturns(deps.logger, { name: 'record_payment', context: { order_id: order.id } }, record);
    }
    throw error;
  }
  const settled = attempt.status === 'succeeded' ? recorded.status === 'paid' : recorded.status === 'payment_failed';
  if (!settled) throw changedWhilePaying(order.id);
  if (attempt.status !== 'succeeded') {
    throw paymentFailure(deps, {
      order,
      paymentMethod,
      failure:
        attempt.status === 'declined'
          ? { declineCode: attempt.declineCode }
          : { unavailable: attempt.error.kind.replaceAll('_', ' ') },
    });
  }
  const [paid] = await withLines(deps.db, [recorded]);
  if (!paid) throw new Error(`order ${order.id} vanished after payment`);
  return paid;
}
