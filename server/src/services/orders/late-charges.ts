import type { Db } from '../../core/db/database.ts';
import { withTransaction, type Trx } from '../../core/db/transaction.ts';
import { callGateway, refundLateCharge } from './charge.ts';
import type { OrdersDeps } from './deps.ts';
import type { PendingAttempt } from './payment-attempt.ts';
import type { ReconcileResult } from './reconcile.ts';

// Late charges: attempts recorded `failed` after a gateway timeout, whose charge the gateway may
// have taken after the caller gave up. The reconciler settles them here (reconcile.ts).

/**
 * Attempts of the same order begun after `attempt` under its gateway key (a payment made again).
 * Compared in the database: a timestamp read back into JavaScript loses its microseconds.
 */
function attemptsReusing(db: Db, attempt: PendingAttempt) {
  return db
    .selectFrom('payments as later')
    .select('later.id')
    .where('later.order_id', '=', attempt.order_id)
    .where('later.idempotency_key', '=', attempt.idempotency_key)
    .where('later.id', '!=', attempt.id)
    .where('later.created_at', '>=', (eb) =>
      eb.selectFrom('payments as this').select('this.created_at').where('this.id', '=', attempt.id),
    );
}

/** Clears an attempt's outcome_unknown mark: its outcome is known, or no longer its to settle. */
async function clearUnknown(db: Db | Trx, paymentId: string): Promise<void> {
  await db
    .updateTable('payments')
    .set({ outcome_unknown_since: null, updated_at: new Date() })
    .where('id', '=', paymentId)
    .execute();
}

/**
 * Takes the late charge of a timed-out attempt as its own, under the order's lock: the attempt
 * becomes `succeeded` with the charge's reference (so a new attempt of the order takes a new key
 * and never this charge), unless an attempt begun meanwhile reuses its key: that attempt then
 * holds the charge's answer, and this one only loses its mark. False in that case.
 */
async function claimLateCharge(deps: OrdersDeps, attempt: PendingAttempt, reference: string): Promise<boolean> {
  return withTransaction(deps, 'claim_late_charge', async (trx) => {
    await trx.selectFrom('orders').select('id').where('id', '=', attempt.order_id).forUpdate().execute();
    const claimed = await trx
      .updateTable('payments')
      .set({ status: 'succeeded', gateway_reference: reference, failure_reason: null, updated_at: new Date() })
      .where('id', '=', attempt.id)
      .where('status', '=', 'failed')
      .where('outcome_unknown_since', 'is not', null)
      .where((eb) => eb.not(eb.exists(attemptsReusing(trx, attempt))))
      .executeTakeFirst();
    if (claimed.numUpdatedRows > 0n) return true;
    await clearUnknown(trx, attempt.id);
    return false;
  });
}

/**
 * Settles an attempt recorded `failed` after a timeout (its mark, outcome_unknown_since, is past
 * the grace period): the gateway may have taken the charge after the caller gave up. An attempt
 * of the same order begun later under the same key got that charge's answer, so the mark is only
 * cleared. Otherwise the charge is replayed under the attempt's key: a charge that succeeded is
 * refunded (its order went to payment_failed and gave its stock back, it is not paid by it); a
 * decline or a processing error took nothing; a gateway that still does not answer (or a refund
 * that fails) is asked again on the next run.
 * `charged` is the reference of a late charge already claimed by an earlier run whose refund failed.
 */
export async function settleUnknown(
  deps: OrdersDeps,
  { attempt, charged }: { attempt: PendingAttempt; charged: string | null },
  result: Pick<ReconcileResult, 'deferred' | 'late_charges_refunded'>,
): Promise<void> {
  const context = { order_id: attempt.order_id, payment_id: attempt.id };
  const defer = (reason: string) => {
    result.deferred += 1;
    deps.logger.warn('payment_reconcile_deferred', { reason, context });
  };
  let reference = charged;
  if (reference === null) {
    const reused = await attemptsReusing(deps.db, attempt).executeTakeFirst();
    if (reused) {
      await clearUnknown(deps.db, attempt.id);
      deps.logger.info('payment_reconciled', {
        context: { ...context, outcome_unknown: true, superseded_by: reused.id },
      });
      return;
    }
    const answer = await callGateway(deps, attempt);
    // Unknown still (timeout, outage): the mark stays for the next run.
    if (answer.status === 'failed' && answer.error.kind !== 'processing_error') {
      defer(answer.error.message);
      return;
    }
    // A decline, or a processing error (the gateway's answer that nothing was charged).
    if (answer.status !== 'succeeded') {
      await clearUnknown(deps.db, attempt.id);
      deps.logger.info('payment_reconciled', {
        context: { ...context, outcome_unknown: true, gateway_status: answer.status, payment_status: 'failed' },
      });
      return;
    }
    if (!(await claimLateCharge(deps, attempt, answer.reference))) return;
    reference = answer.reference;
  }
  try {
    await refundLateCharge(deps, {
      orderId: attempt.order_id,
      paymentId: attempt.id,
      reference,
      amount: attempt.amount,
      currency: attempt.currency,
    });
  } catch (error) {
    // Claimed, not yet refunded: the next run refunds it under the same refund key.
    defer(error instanceof Error ? error.message : String(error));
    return;
  }
  result.late_charges_refunded += 1;
  const order = await deps.db
    .selectFrom('orders')
    .select('status')
    .where('id', '=', attempt.order_id)
    .executeTakeFirst();
  deps.logger.info('payment_reconciled', {
    context: {
      ...context,
      outcome_unknown: true,
      gateway_status: 'succeeded',
      order_status: order?.status ?? null,
      payment_status: 'refunded',
    },
  });
}
