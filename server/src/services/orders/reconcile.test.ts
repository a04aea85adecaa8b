import { spawnSync } from 'node:child_process';
import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../../../test/fixture.ts';
import { createOrder, orderRowOf, paymentRowsOf, stockOf } from '../../../test/orders-api.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { REPO_ROOT } from '../../../test/test-results.ts';
import { onRealPostgres } from '../../../test/test-database.ts';
import { createSimulatedGateway } from '../payment-gateway/index.ts';
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
    expect((await orderRowOf(app, orderId))?.status).toBe('paid');
  });
});
