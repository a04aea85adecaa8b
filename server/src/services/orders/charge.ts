import type { Order } from '@orders/shared';
import { isDatabaseUnavailable } from '../../core/db/database-errors.ts';
import { AppError } from '../../core/errors.ts';
import { withTransaction } from '../../core/db/transaction.ts';
import type { OrderRow } from '../../models/index.ts';
import { PaymentGatewayUnavailableError, withGatewayTimeout } from '../payment-gateway/index.ts';
import { retryWhenDatabaseReturns } from './deferred-write.ts';
import type { OrdersDeps } from './deps.ts';
import type { KeyClaim } from './idempotency-claim.ts';
import { toOrder, withLines, type OrderItem } from './mappers.ts';
import {
  beginAttempt,
  recordOutcomeAlone,
  type Attempt,
  type KeyToFinish,
  type PendingAttempt,
  type Recorded,
} from './payment-attempt.ts';
import { changedWhilePaying } from './state-machine.ts';

/** Calls the gateway for a pending attempt under its key; a failure to answer is an attempt of its own. */
export async function callGateway(deps: OrdersDeps, attempt: PendingAttempt): Promise<Attempt> {
  try {
    return await withGatewayTimeout(
      deps.gateway.charge({
        amount: attempt.amount,
        currency: attempt.currency,
        paymentMethod: attempt.payment_method,
        orderId: attempt.order_id,
        paymentId: attempt.id,
        idempotencyKey: attempt.idempotency_key,
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
 * Records one gateway answer in one transaction (see `recordOutcome`). It may run more than once
 * for one answer (again after a commit whose acknowledgement was lost, from the reconciler, or a
 * webhook): only the first records it. A charge that succeeded for an order which left
 * pending_payment meanwhile (cancelled) is refunded.
 */
export async function recordAttempt(
  deps: OrdersDeps,
  { pending, attempt, finishKey }: { pending: PendingAttempt; attempt: Attempt; finishKey?: KeyToFinish | undefined },
): Promise<Pick<Recorded, 'order' | 'keyFinished'>> {
  const recorded = await recordOutcomeAlone(deps, {
    orderId: pending.order_id,
    paymentId: pending.id,
    attempt,
    finishKey,
  });
  if (recorded.lateCharge) await refundLateCharge(deps, { orderId: pending.order_id, ...recorded.lateCharge });
  return recorded;
}

/** No money may stay taken for an order that was cancelled while its charge was in flight. */
export async function refundLateCharge(
  deps: OrdersDeps,
  { orderId, paymentId, reference, amount, currency }: { orderId: string } & NonNullable<Recorded['lateCharge']>,
): Promise<void> {
  const refund = await withGatewayTimeout(
    deps.gateway.refund({
      chargeReference: reference,
      amount,
      currency,
      idempotencyKey: `${paymentId}:refund-late-charge`,
    }),
    deps.gatewayTimeoutMs,
  );
  await deps.db
    .updateTable('payments')
    .set({
      status: 'refunded',
      refund_reference: refund.reference,
      refunded_at: new Date(),
      outcome_unknown_since: null,
      updated_at: new Date(),
    })
    .where('id', '=', paymentId)
    .where('status', '=', 'succeeded')
    .execute();
  deps.logger.warn('late_charge_refunded', { context: { order_id: orderId, reference } });
}

type Failure = { declineCode: string } | { unavailable: string };

function failureOf(attempt: Exclude<Attempt, { status: 'succeeded' }>): Failure {
  return attempt.status === 'declined'
    ? { declineCode: attempt.declineCode }
    : { unavailable: attempt.error.kind.replaceAll('_', ' ') };
}

/**
 * The error a payment_failed order answers with: 402 PAYMENT_DECLINED for a decline, 502
 * PAYMENT_GATEWAY_UNAVAILABLE when the gateway failed; and the `PaymentGatewayError` line's
 * reason and context.
 */
function describeFailure({
  order,
  paymentMethod,
  failure,
}: {
  order: OrderRow;
  paymentMethod: string;
  failure: Failure;
}): { error: AppError; reason: string; context: Record<string, unknown> } {
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
  const error = declined
    ? new AppError('PAYMENT_DECLINED', `${reason}. The order is kept as payment_failed; pay it with another method.`, {
        context,
        orderId: order.id,
      })
    : new AppError(
        'PAYMENT_GATEWAY_UNAVAILABLE',
        `${reason}. The order is kept as payment_failed; try paying it again.`,
        { context, orderId: order.id },
      );
  return { error, reason, context };
}

/** The error a payment_failed order answers with (see `describeFailure`), logged as `PaymentGatewayError`. */
export function paymentFailure(
  deps: Pick<OrdersDeps, 'logger'>,
  input: { order: OrderRow; paymentMethod: string; failure: Failure },
): AppError {
  const { error, reason, context } = describeFailure(input);
  deps.logger.error('PaymentGatewayError', { reason, context });
  return error;
}

/**
 * Charges an order that holds its stock (status pending_payment) outside any transaction, the
 * attempt written `pending` with its gateway key first, then records the outcome in one: paid; or payment_failed with the stock
 * given back. A decline is 402 PAYMENT_DECLINED and a gateway failure 502
 * PAYMENT_GATEWAY_UNAVAILABLE, each logged as `PaymentGatewayError` with its context.
 *
 * Once the gateway has answered, its answer is recorded even if the database is gone at that
 * moment: the request answers 503, and the record is written in the background as soon as the
 * database is back (a charge must never be taken and forgotten).
 */
export async function chargeAndRecord(
  deps: OrdersDeps,
  {
    order,
    paymentMethod,
    pending: begun,
    lines,
    keyClaim,
  }: {
    order: OrderRow;
    paymentMethod: string;
    pending?: PendingAttempt;
    /** The order's lines in product id order, when the caller has them (else they are read). */
    lines?: OrderItem[];
    /** The request's Idempotency-Key: marked done in the statement that records the outcome. */
    keyClaim?: KeyClaim | undefined;
  },
): Promise<Order> {
  const pending =
    begun ??
    (await withTransaction(deps, 'begin_payment', (trx) =>
      beginAttempt(trx, { order, paymentMethod, gateway: deps.gateway.name }),
    ));
  const attempt = await callGateway(deps, pending);
  const failure =
    attempt.status === 'succeeded' ? undefined : describeFailure({ order, paymentMethod, failure: failureOf(attempt) });
  const finishKey = keyClaim && {
    claim: keyClaim,
    failure: failure && { code: failure.error.code, message: failure.error.message },
  };
  const record = () => recordAttempt(deps, { pending, attempt, finishKey });
  let recorded: OrderRow;
  try {
    const outcome = await record();
    recorded = outcome.order;
    if (keyClaim && outcome.keyFinished) keyClaim.finished = true;
  } catch (error) {
    if (isDatabaseUnavailable(error)) {
      retryWhenDatabaseReturns(deps.logger, { name: 'record_payment', context: { order_id: order.id } }, record);
    }
    throw error;
  }
  const settled = attempt.status === 'succeeded' ? recorded.status === 'paid' : recorded.status === 'payment_failed';
  if (!settled) throw changedWhilePaying(order.id);
  if (failure) {
    deps.logger.error('PaymentGatewayError', { reason: failure.reason, context: failure.context });
    throw failure.error;
  }
  if (lines) return toOrder(recorded, lines);
  const [paid] = await withLines(deps.db, [recorded]);
  if (!paid) throw new Error(`order ${order.id} vanished after payment`);
  return paid;
}
