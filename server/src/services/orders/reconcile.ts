import { sql } from 'kysely';
import { withTransaction } from '../../core/db/transaction.ts';
import { callGateway, recordAttempt } from './charge.ts';
import { settleUnknown } from './late-charges.ts';
import type { OrdersDeps } from './deps.ts';
import { PENDING_COLUMNS, type PendingAttempt } from './payment-attempt.ts';
import { moveOrder } from './state-machine.ts';
import { linesOf, releaseStock } from './stock.ts';

/**
 * The transaction-scoped advisory lock a reconciliation run holds ('recon' in ASCII).
 * Transaction-scoped because a session lock would stay with a pooled server
 * connection behind PgBouncer's transaction pooling, not with this process.
 */
export const RECONCILE_LOCK_ID = 0x72_65_63_6f_6e;

/** Attempts settled per run at most; the next run takes the rest. */
const BATCH_SIZE = 200;

export interface ReconcileOptions {
  /** The grace period: attempts younger than this are left to the request that made them. */
  afterSeconds: number;
  /**
   * True on a database only this process can open (embedded PGlite): there is no other
   * instance to take turns with, and its one connection must not stay held by the lock.
   */
  singleInstance: boolean;
  signal?: AbortSignal | undefined;
}

export interface ReconcileResult {
  /** `skipped`: another instance holds the lock and is reconciling the same attempts. */
  outcome: 'completed' | 'skipped' | 'stopped';
  /** Attempts settled, by what became of their order. */
  paid: number;
  payment_failed: number;
  refunded: number;
  /** Attempts the gateway still could not answer: the next run asks again. */
  deferred: number;
  /** Orders left pending_payment with no attempt (the gateway never asked): failed, stock given back. */
  never_charged: number;
  /**
   * Attempts recorded failed after a timeout whose charge the gateway took all the same: refunded
   * (their order is not paid by them).
   */
  late_charges_refunded: number;
}

const EMPTY_RESULT = {
  paid: 0,
  payment_failed: 0,
  refunded: 0,
  deferred: 0,
  never_charged: 0,
  late_charges_refunded: 0,
} as const;

const olderThan = (seconds: number) => sql<Date>`now() - make_interval(secs => ${seconds})`;

/** Asks the gateway again under the attempt's own key and records the answer like the synchronous path. */
async function settle(deps: OrdersDeps, pending: PendingAttempt, result: ReconcileResult): Promise<void> {
  const attempt = await callGateway(deps, pending);
  // Unknown still (timeout, outage): the attempt stays pending for the next run.
  if (attempt.status === 'failed' && attempt.error.kind !== 'processing_error') {
    result.deferred += 1;
    deps.logger.warn('payment_reconcile_deferred', {
      reason: attempt.error.message,
      context: { order_id: pending.order_id, payment_id: pending.id },
    });
    return;
  }
  const { order } = await recordAttempt(deps, { pending, attempt });
  const payment = await deps.db.selectFrom('payments').select('status').where('id', '=', pending.id).executeTakeFirst();
  const became = payment?.status === 'refunded' ? 'refunded' : order.status === 'paid' ? 'paid' : 'payment_failed';
  result[became] += 1;
  deps.logger.info('payment_reconciled', {
    context: {
      order_id: pending.order_id,
      payment_id: pending.id,
      gateway_status: attempt.status,
      order_status: order.status,
      payment_status: payment?.status ?? null,
    },
  });
}

/**
 * An order in pending_payment past the grace period with no pending attempt never reached the
 * gateway (its request died before writing the attempt): nothing was charged, so it fails and
 * gives its stock back, as a gateway failure would.
 */
async function failNeverCharged(deps: OrdersDeps, afterSeconds: number): Promise<number> {
  const stranded = await deps.db
    .selectFrom('orders')
    .select('id')
    .where('status', '=', 'pending_payment')
    .where('updated_at', '<', olderThan(afterSeconds))
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('payments')
            .select('payments.id')
            .whereRef('payments.order_id', '=', 'orders.id')
            .where('payments.status', '=', 'pending'),
        ),
      ),
    )
    .limit(BATCH_SIZE)
    .execute();
  let failed = 0;
  for (const { id } of stranded) {
    const moved = await withTransaction(deps, 'fail_never_charged', async (trx) => {
      const order = await moveOrder(trx, { orderId: id, to: 'payment_failed' });
      if (order) await releaseStock(trx, await linesOf(trx, id));
      return order !== undefined;
    });
    if (moved) {
      failed += 1;
      deps.logger.warn('payment_reconciled', {
        context: { order_id: id, order_status: 'payment_failed', never_charged: true },
      });
    }
  }
  return failed;
}

async function reconcileBatch(deps: OrdersDeps, options: ReconcileOptions): Promise<ReconcileResult> {
  const result: ReconcileResult = { outcome: 'completed', ...EMPTY_RESULT };
  const due = await deps.db
    .selectFrom('payments')
    .select(PENDING_COLUMNS)
    .where('status', '=', 'pending')
    .where('created_at', '<', olderThan(options.afterSeconds))
    .orderBy('created_at')
    .limit(BATCH_SIZE)
    .execute();
  for (const row of due) {
    if (options.signal?.aborted) return { ...result, outcome: 'stopped' };
    if (row.idempotency_key === null) continue;
    await settle(deps, { ...row, idempotency_key: row.idempotency_key }, result);
  }
  result.never_charged = await failNeverCharged(deps, options.afterSeconds);
  const unknown = await deps.db
    .selectFrom('payments')
    .select([...PENDING_COLUMNS, 'status', 'gateway_reference'])
    .where('outcome_unknown_since', '<', olderThan(options.afterSeconds))
    .where('status', 'in', ['failed', 'succeeded'])
    .orderBy('outcome_unknown_since')
    .limit(BATCH_SIZE)
    .execute();
  for (const { status, gateway_reference, ...row } of unknown) {
    if (options.signal?.aborted) return { ...result, outcome: 'stopped' };
    if (row.idempotency_key === null) continue;
    const attempt = { ...row, idempotency_key: row.idempotency_key };
    const charged = status === 'succeeded' ? gateway_reference : null;
    await settleUnknown(deps, { attempt, charged }, result);
  }
  return result;
}

/**
 * Settles every payment attempt left `pending` past the grace period by asking the gateway
 * again with the same idempotent request (the simulated gateway answers from its ledger, Stripe
 * replays its first answer, or charges now if the first request never reached it), then records
 * the answer exactly as the synchronous path would: paid; failed with the stock given back; or,
 * for an order cancelled meanwhile, the charge refunded. Writes one `payment_reconcile_completed`
 * line. Instances take turns: the run holds a transaction-scoped advisory lock in a transaction
 * of its own (so it works behind PgBouncer's transaction pooling), and a run that finds it
 * taken is `skipped`.
 */
export async function reconcilePayments(deps: OrdersDeps, options: ReconcileOptions): Promise<ReconcileResult> {
  const started = performance.now();
  const result = options.singleInstance
    ? await reconcileBatch(deps, options)
    : await deps.db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ locked: boolean }>`
          select pg_try_advisory_xact_lock(${RECONCILE_LOCK_ID}::bigint) as locked`.execute(trx);
        if (rows[0]?.locked !== true) {
          return { outcome: 'skipped' as const, ...EMPTY_RESULT };
        }
        return reconcileBatch(deps, options);
      });
  deps.logger.info('payment_reconcile_completed', {
    ...result,
    duration_ms: Math.round((performance.now() - started) * 100) / 100,
  });
  return result;
}
