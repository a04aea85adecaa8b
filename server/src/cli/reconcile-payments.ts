import { reconcilePayments } from '../services/orders/index.ts';
import { createPaymentGateway } from '../services/payment-gateway/index.ts';
import { openToolContext } from './tool-context.ts';

/**
 * `pnpm payments:reconcile`: settles once what the server's periodic reconciliation settles
 * (attempts pending past PAYMENT_RECONCILE_AFTER_SECONDS), for a deployment that runs it from a
 * scheduler with PAYMENT_RECONCILE_INTERVAL_SECONDS=0, and prints the counts.
 */
const { config, logger, database } = await openToolContext();
try {
  const result = await reconcilePayments(
    {
      db: database.db,
      logger,
      gateway: createPaymentGateway(config.paymentGateway, database.db),
      gatewayTimeoutMs: config.paymentGateway.timeoutMs,
    },
    { afterSeconds: config.paymentReconcile.afterSeconds, singleInstance: database.kind === 'pglite' },
  );
  process.stdout.write(
    [
      ...(result.outcome === 'skipped' ? ['skipped: another instance is reconciling'] : []),
      `paid: ${result.paid}`,
      `payment_failed: ${result.payment_failed}`,
      `refunded: ${result.refunded}`,
      `deferred: ${result.deferred}`,
      `never_charged: ${result.never_charged}`,
      `late_charges_refunded: ${result.late_charges_refunded}`,
      '',
    ].join('\n'),
  );
} catch (error) {
  logger.error('payment_reconcile_failed', { reason: error instanceof Error ? error.message : String(error), error });
  process.exitCode = 1;
} finally {
  await database.close();
  await logger.flush();
}
