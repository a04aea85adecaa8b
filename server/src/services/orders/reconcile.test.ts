import { spawnSync } from 'node:child_process';
import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { expectError } from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { createOrder, orderIdsOf, orderRowOf, payOrder, paymentRowsOf, stockOf } from '../../../test/orders-api.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { REPO_ROOT } from '../../../test/test-results.ts';
import { onRealPostgres } from '../../../test/test-database.ts';
import { createPaymentGateway, createSimulatedGateway, type PaymentGateway } from '../payment-gateway/index.ts';
import { RECONCILE_LOCK_ID, reconcilePayments } from './reconcile.ts';

/**
 * The reconciler on attempts a crash left `pending` (put back by hand after a real charge, as a
 * process killed before recording its gateway's answer leaves them): it asks the simulated
 * gateway's ledger again under the same key and records the answer as the synchronous path does.
 */

const {
  app,
  users: { alice },
} = useTestApp({ users: { alice: 'customer' } });

const GRACE_SECONDS = 300;

function deps() {
  return {
    db: app.database.db,
    logger: app.logger,
    gateway: createSimulatedGateway({ latencyMs: 0, db: app.database.db }),
    gatewayTimeoutMs: 1_000,
  };
}

const reconcile = () =>
  reconcilePayments(deps(), { afterSeconds: GRACE_SECONDS, singleInstance: app.database.kind === 'pglite' });

/** An order charged at the gateway, then left as a crash before recording leaves it, `ageSeconds` ago. */
async function leftPending(paymentMethod: string, ageSeconds = GRACE_SECONDS + 1) {
  const [productId = ''] = await insertProducts(app.database.db, [{ stock: 4, price_amount: 500 }]);
  await createOrder(app, {
    protocol: 'rest',
    token: alice.accessToken,
    items: [{ productId, quantity: 1 }],
    paymentMethod,
  });
  const { id: orderId, status } = await app.database.db
    .selectFrom('orders')
    .select(['id', 'status'])
    .where('user_id', '=', alice.id)
    .orderBy('created_at', 'desc')
    .executeTakeFirstOrThrow();
  if (status === 'payment_failed')
    await sql`update products set stock = stock - 1 where id = ${productId}`.execute(app.database.db);
  const then = sql<Date>`now() - make_interval(secs => ${ageSeconds})`;
  await sql`update orders set status = 'pending_payment', updated_at = ${then} where id = ${orderId}`.execute(
    app.database.db,
  );
  await sql`update payments set status = 'pending', gateway_reference = null, decline_code = null,
    failure_reason = null, created_at = ${then} where order_id = ${orderId}`.execute(app.database.db);
  return { orderId, productId };
}

async function ledgerOf(orderId: string) {
  return app.database.db
    .selectFrom('simulated_gateway_ledger')
    .select(['kind', 'status', 'reference'])
    .where('order_id', '=', orderId)
    .execute();
}

describe('reconcilePayments', () => {
  it('records a charge the gateway took as paid, with the charge it already made', async () => {
    const { orderId, productId } = await leftPending('pm_card_visa');
    const result = await reconcile();
    expect(result).toMatchObject({ outcome: 'completed', paid: 1, payment_failed: 0, deferred: 0 });
    expect((await orderRowOf(app, orderId))?.status).toBe('paid');
    const ledger = await ledgerOf(orderId);
    expect(ledger).toHaveLength(1);
    expect(await paymentRowsOf(app, orderId)).toMatchObject([
      { status: 'succeeded', gateway_reference: ledger[0]?.reference },
    ]);
    expect(await stockOf(app, productId)).toBe(3);
    const reconciled = app.logs.events('payment_reconciled', {}).map((line) => line.context);
    expect(reconciled).toContainEqual(
      expect.objectContaining({ order_id: orderId, order_status: 'paid', gateway_status: 'succeeded' }),
    );
  });

  it('records a decline as payment_failed and gives the stock back', async () => {
    const { orderId, productId } = await leftPending('pm_card_chargeDeclined');
    expect(await reconcile()).toMatchObject({ payment_failed: 1 });
    expect((await orderRowOf(app, orderId))?.status).toBe('payment_failed');
    expect(await paymentRowsOf(app, orderId)).toMatchObject([{ status: 'declined', decline_code: 'generic_decline' }]);
    expect(await stockOf(app, productId)).toBe(4);
  });

  it('refunds the charge of an order cancelled while its attempt was pending', async () => {
    const { orderId, productId } = await leftPending('pm_card_visa');
    await sql`update orders set status = 'cancelled' where id = ${orderId}`.execute(app.database.db);
    await sql`update products set stock = stock + 1 where id = ${productId}`.execute(app.database.db);
    expect(await reconcile()).toMatchObject({ refunded: 1 });
    expect((await orderRowOf(app, orderId))?.status).toBe('cancelled');
    expect(await paymentRowsOf(app, orderId)).toMatchObject([{ status: 'refunded' }]);
    const refund = await app.database.db
      .selectFrom('simulated_gateway_ledger')
      .select('kind')
      .where('idempotency_key', 'like', 'pay_%:refund-late-charge')
      .execute();
    expect(refund.length).toBeGreaterThanOrEqual(1);
    expect(await stockOf(app, productId)).toBe(4);
  });

  it('leaves an attempt younger than the grace period to its request', async () => {
    const { orderId } = await leftPending('pm_card_visa', 5);
    await reconcile();
    expect((await orderRowOf(app, orderId))?.status).toBe('pending_payment');
    await sql`update orders set status = 'paid' where id = ${orderId}`.execute(app.database.db);
    await sql`update payments set status = 'succeeded' where order_id = ${orderId}`.execute(app.database.db);
  });

  it('fails an order whose request died before it reached the gateway, and gives its stock back', async () => {
    const { orderId, productId } = await leftPending('pm_card_visa');
    await sql`delete from payments where order_id = ${orderId}`.execute(app.database.db);
    expect(await reconcile()).toMatchObject({ never_charged: 1 });
    expect((await orderRowOf(app, orderId))?.status).toBe('payment_failed');
    expect(await stockOf(app, productId)).toBe(4);
  });

  it.skipIf(!onRealPostgres)('skips a run while another instance holds the transaction-scoped lock', async () => {
    const { orderId } = await leftPending('pm_card_visa');
    const other = new pg.Client({ connectionString: app.testDatabase.url });
    await other.connect();
    try {
      await other.query('begin');
      await other.query('select pg_advisory_xact_lock($1::bigint)', [RECONCILE_LOCK_ID]);
      expect(await reconcile()).toMatchObject({ outcome: 'skipped', paid: 0 });
      expect((await orderRowOf(app, orderId))?.status).toBe('pending_payment');
      await other.query('rollback');
    } finally {
      await other.end();
    }
    // Released with its transaction: no session lock outlives it (PgBouncer transaction pooling).
    expect(await reconcile()).toMatchObject({ outcome: 'completed', paid: 1 });
  });

  it.skipIf(!onRealPostgres)('runs once from `pnpm payments:reconcile`', async () => {
    const { orderId } = await leftPending('pm_card_visa');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/cli/reconcile-payments.ts'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        JWT_SECRET: 'x'.repeat(40),
        DATABASE_URL: app.testDatabase.url,
      },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('paid: 1');
    expect(run.stdout).toContain('late_charges_refunded: 0');
    expect((await orderRowOf(app, orderId))?.status).toBe('paid');
  });
});

/**
 * Attempts recorded failed because the gateway did not answer in time, with a gateway slower than
 * the timeout: the simulated gateway takes the charge (in its ledger) while the caller has given
 * up, as a real one may.
 */
describe('reconcilePayments on attempts whose gateway call timed out', () => {
  const {
    app: slow,
    users: { bob },
  } = useTestApp({
    env: { PAYMENT_GATEWAY_LATENCY_MS: '400', PAYMENT_GATEWAY_TIMEOUT_MS: '100' },
    users: { bob: 'customer' },
  });

  const reconcileSlow = (afterSeconds = 0, gateway?: PaymentGateway, gatewayTimeoutMs?: number) =>
    reconcilePayments(
      {
        db: slow.database.db,
        logger: slow.logger,
        // The gateway answering in time again, unless told: its records are the same ledger.
        gateway: gateway ?? createSimulatedGateway({ latencyMs: 0, db: slow.database.db }),
        gatewayTimeoutMs: gatewayTimeoutMs ?? 1_000,
      },
      { afterSeconds, singleInstance: slow.database.kind === 'pglite' },
    );

  /** An order whose charge timed out: 502, payment_failed, its stock back; the gateway's late answer in its ledger. */
  async function timedOut(paymentMethod: string) {
    const [productId = ''] = await insertProducts(slow.database.db, [{ stock: 3, price_amount: 700 }]);
    const res = await createOrder(slow, {
      protocol: 'rest',
      token: bob.accessToken,
      items: [{ productId, quantity: 2 }],
      paymentMethod,
    });
    expectError(res, { status: 502, code: 'PAYMENT_GATEWAY_UNAVAILABLE' });
    const { id: orderId } = await slow.database.db
      .selectFrom('orders')
      .select('id')
      .where('user_id', '=', bob.id)
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
    expect((await orderRowOf(slow, orderId))?.status).toBe('payment_failed');
    expect(await stockOf(slow, productId)).toBe(3);
    const [payment] = await paymentRowsOf(slow, orderId);
    expect(payment).toMatchObject({ status: 'failed', gateway_reference: null });
    expect(payment?.outcome_unknown_since).toBeInstanceOf(Date);
    const deadline = Date.now() + 5_000;
    while ((await slowLedgerOf(orderId)).length === 0) {
      if (Date.now() > deadline) throw new Error(`no charge of ${orderId} in the ledger`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { orderId, productId, paymentId: payment?.id ?? '' };
  }

  async function slowLedgerOf(orderId: string) {
    return slow.database.db
      .selectFrom('simulated_gateway_ledger')
      .select(['kind', 'status', 'reference', 'charge_reference'])
      .where((eb) =>
        eb.or([
          eb('order_id', '=', orderId),
          eb(
            'charge_reference',
            'in',
            eb.selectFrom('simulated_gateway_ledger').select('reference').where('order_id', '=', orderId),
          ),
        ]),
      )
      .orderBy('created_at')
      .execute();
  }

  const lateRefundsOf = (orderId: string) =>
    slow.logs
      .events('late_charge_refunded')
      .filter((line) => (line.context as { order_id?: string }).order_id === orderId);

  it('refunds a charge the gateway took after the timeout; the order stays payment_failed with its stock back', async () => {
    const { orderId, productId, paymentId } = await timedOut('pm_card_visa');
    const [charge] = await slowLedgerOf(orderId);
    expect(charge).toMatchObject({ kind: 'charge', status: 'succeeded' });

    // Within the grace period it is left alone.
    expect(await reconcileSlow(300)).toMatchObject({ outcome: 'completed', late_charges_refunded: 0 });
    expect((await paymentRowsOf(slow, orderId))[0]).toMatchObject({ status: 'failed' });

    expect(await reconcileSlow()).toMatchObject({ outcome: 'completed', late_charges_refunded: 1, deferred: 0 });
    const [payment] = await paymentRowsOf(slow, orderId);
    expect(payment).toMatchObject({ id: paymentId, status: 'refunded', gateway_reference: charge?.reference });
    expect(payment?.outcome_unknown_since).toBeNull();
    const ledger = await slowLedgerOf(orderId);
    expect(ledger).toMatchObject([
      { kind: 'charge', status: 'succeeded', reference: charge?.reference },
      { kind: 'refund', status: 'succeeded', charge_reference: charge?.reference },
    ]);
    expect(payment?.refund_reference).toBe(ledger[1]?.reference);
    expect(lateRefundsOf(orderId)).toHaveLength(1);
    expect(lateRefundsOf(orderId)[0]).toMatchObject({ level: 'WARN', context: { reference: charge?.reference } });
    const reconciled = slow.logs.events('payment_reconciled').map((line) => line.context);
    expect(reconciled).toContainEqual({
      order_id: orderId,
      payment_id: paymentId,
      outcome_unknown: true,
      gateway_status: 'succeeded',
      order_status: 'payment_failed',
      payment_status: 'refunded',
    });
    expect((await orderRowOf(slow, orderId))?.status).toBe('payment_failed');
    expect(await stockOf(slow, productId)).toBe(3);

    // A second run finds nothing left to do.
    expect(await reconcileSlow()).toMatchObject({ late_charges_refunded: 0, refunded: 0, deferred: 0 });
    expect(await slowLedgerOf(orderId)).toHaveLength(2);
    expect(lateRefundsOf(orderId)).toHaveLength(1);
    expect(await paymentRowsOf(slow, orderId)).toMatchObject([{ status: 'refunded' }]);
  });

  it('does not refund the charge of a timed-out attempt whose order was paid again under its key', async () => {
    const { orderId, productId, paymentId } = await timedOut('pm_card_visa');
    const paid = await payOrder(slow, { protocol: 'rest', token: bob.accessToken, orderId });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect((await orderRowOf(slow, orderId))?.status).toBe('paid');

    expect(await reconcileSlow()).toMatchObject({ late_charges_refunded: 0, deferred: 0 });
    const payments = await paymentRowsOf(slow, orderId);
    expect(payments.map(({ id, status, idempotency_key }) => ({ id, status, idempotency_key }))).toEqual(
      expect.arrayContaining([
        { id: paymentId, status: 'failed', idempotency_key: `${orderId}:attempt-1` },
        {
          id: expect.not.stringMatching(paymentId) as unknown,
          status: 'succeeded',
          idempotency_key: `${orderId}:attempt-1`,
        },
      ]),
    );
    expect(payments.every((payment) => payment.outcome_unknown_since === null)).toBe(true);
    expect(await slowLedgerOf(orderId)).toMatchObject([{ kind: 'charge', status: 'succeeded' }]);
    expect(await slowLedgerOf(orderId)).toHaveLength(1);
    expect(lateRefundsOf(orderId)).toEqual([]);
    expect((await orderRowOf(slow, orderId))?.status).toBe('paid');
    expect(await stockOf(slow, productId)).toBe(1);
  });

  it('clears the mark of a timed-out attempt the gateway declined, refunding nothing', async () => {
    const { orderId, productId, paymentId } = await timedOut('pm_card_chargeDeclined');
    expect(await slowLedgerOf(orderId)).toMatchObject([{ kind: 'charge', status: 'declined' }]);

    expect(await reconcileSlow()).toMatchObject({ late_charges_refunded: 0, deferred: 0 });
    const [payment] = await paymentRowsOf(slow, orderId);
    expect(payment).toMatchObject({ status: 'failed', outcome_unknown_since: null });
    expect(await slowLedgerOf(orderId)).toHaveLength(1);
    expect(lateRefundsOf(orderId)).toEqual([]);
    expect(slow.logs.events('payment_reconciled').map((line) => line.context)).toContainEqual({
      order_id: orderId,
      payment_id: paymentId,
      outcome_unknown: true,
      gateway_status: 'declined',
      payment_status: 'failed',
    });
    expect((await orderRowOf(slow, orderId))?.status).toBe('payment_failed');
    expect(await stockOf(slow, productId)).toBe(3);
  });

  it('clears the mark of a timed-out attempt the gateway answers with a processing error', async () => {
    const [productId = ''] = await insertProducts(slow.database.db, [{ stock: 3, price_amount: 700 }]);
    const res = await createOrder(slow, {
      protocol: 'rest',
      token: bob.accessToken,
      items: [{ productId, quantity: 1 }],
      paymentMethod: 'pm_card_chargeDeclinedProcessingError',
    });
    expect(expectError(res, { status: 502, code: 'PAYMENT_GATEWAY_UNAVAILABLE' }).message).toContain('timeout');
    const [orderId = ''] = await orderIdsOf(slow, bob.id);
    const [marked] = await paymentRowsOf(slow, orderId);
    expect(marked?.outcome_unknown_since).toBeInstanceOf(Date);

    expect(await reconcileSlow()).toMatchObject({ late_charges_refunded: 0, deferred: 0 });
    expect(await paymentRowsOf(slow, orderId)).toMatchObject([{ status: 'failed', outcome_unknown_since: null }]);
    expect(await slowLedgerOf(orderId)).toEqual([]);
    expect((await orderRowOf(slow, orderId))?.status).toBe('payment_failed');
    expect(await stockOf(slow, productId)).toBe(3);
  });

  it('asks again on the next run while the gateway does not answer the replay or the refund', async () => {
    const { orderId, paymentId } = await timedOut('pm_card_visa');
    const [charge] = await slowLedgerOf(orderId);
    const silent: PaymentGateway = {
      name: 'simulated',
      charge: () => new Promise(() => {}),
      refund: () => new Promise(() => {}),
    };
    expect(await reconcileSlow(0, silent, 50)).toMatchObject({ late_charges_refunded: 0, deferred: 1 });
    const deferred = () =>
      slow.logs
        .events('payment_reconcile_deferred')
        .filter((line) => (line.context as { order_id?: string }).order_id === orderId);
    expect(deferred()).toMatchObject([
      { level: 'WARN', reason: 'The payment gateway did not answer within 50 ms', context: { payment_id: paymentId } },
    ]);
    const [unanswered] = await paymentRowsOf(slow, orderId);
    expect(unanswered).toMatchObject({ status: 'failed', gateway_reference: null });
    expect(unanswered?.outcome_unknown_since).toBeInstanceOf(Date);

    // Still slower than its timeout: the replay is answered from the ledger at once, the refund is not.
    const stillSlow = createPaymentGateway(slow.config.paymentGateway, slow.database.db);
    expect(await reconcileSlow(0, stillSlow, slow.config.paymentGateway.timeoutMs)).toMatchObject({
      late_charges_refunded: 0,
      deferred: 1,
    });
    expect(deferred()).toHaveLength(2);
    const [charged] = await paymentRowsOf(slow, orderId);
    expect(charged).toMatchObject({ status: 'succeeded', gateway_reference: charge?.reference });
    expect(charged?.outcome_unknown_since).toBeInstanceOf(Date);
    expect((await orderRowOf(slow, orderId))?.status).toBe('payment_failed');

    expect(await reconcileSlow()).toMatchObject({ late_charges_refunded: 1, deferred: 0 });
    expect(await paymentRowsOf(slow, orderId)).toMatchObject([{ status: 'refunded', outcome_unknown_since: null }]);
    // The refund taken under the slow call and its replay are one refund at the gateway.
    expect(await slowLedgerOf(orderId)).toMatchObject([{ kind: 'charge' }, { kind: 'refund' }]);
    expect(await slowLedgerOf(orderId)).toHaveLength(2);
    expect(lateRefundsOf(orderId)).toHaveLength(1);
  });
});
