import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_HOLD_MS, runCrashLoops, type CrashFigures, type CrashGateway } from '../test/payment-crash.ts';
import { STARTUP_TIMEOUT_MS, cleanUpServers } from '../test/server-process.ts';
import { TEST_SECRET_KEY, startStripeServer, type StripeServer } from '../test/stripe/stripe-server.ts';
import { writeReliabilitySection } from '../test/test-results.ts';

/**
 * SIGKILL while the gateway holds charges, 20 times per gateway: after each restart every order
 * is settled by the reconciler within the grace period plus one interval, with 0 lost, 0
 * doubled, 0 stuck. Figures go to test-results/reliability/payment-crash.json.
 */

const LOOPS = Number(process.env.PAYMENT_CRASH_LOOPS ?? 20);
const LOOP_TIMEOUT_MS = 30_000;

// Each drill kills its own servers; both run at once, so only the end cleans up (databases too).
afterAll(cleanUpServers);

function expectClean(figures: CrashFigures): void {
  writeReliabilitySection('payment-crash', figures.gateway, { ...figures });
  expect(figures, JSON.stringify(figures)).toMatchObject({
    crashes_injected: LOOPS,
    orders_checked: LOOPS * 3,
    lost: 0,
    doubled: 0,
    stuck: 0,
    wrong_status: 0,
    stock_not_returned: 0,
  });
  expect(figures.max_settle_ms).toBeLessThanOrEqual(figures.settle_deadline_ms);
}

describe.concurrent('SIGKILL while the simulated gateway holds charges', () => {
  const simulated: CrashGateway = {
    name: 'simulated',
    env: { PAYMENT_GATEWAY: 'simulated', PAYMENT_GATEWAY_LATENCY_MS: String(GATEWAY_HOLD_MS) },
    async holdsAll(db, orderIds) {
      const held = await db
        .selectFrom('simulated_gateway_ledger')
        .select('order_id')
        .where('order_id', 'in', orderIds)
        .execute();
      return held.length === orderIds.length;
    },
    async chargesKept(db, orderId) {
      const charges = await db
        .selectFrom('simulated_gateway_ledger as charge')
        .select('charge.reference')
        .where('charge.order_id', '=', orderId)
        .where('charge.kind', '=', 'charge')
        .where('charge.status', '=', 'succeeded')
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('simulated_gateway_ledger as refund')
                .select('refund.reference')
                .whereRef('refund.charge_reference', '=', 'charge.reference'),
            ),
          ),
        )
        .execute();
      return charges.length;
    },
  };

  it(
    `settles every order after ${LOOPS} crashes: 0 lost, 0 doubled, 0 stuck`,
    { timeout: STARTUP_TIMEOUT_MS + LOOPS * LOOP_TIMEOUT_MS },
    async () => {
      expectClean(await runCrashLoops(simulated, LOOPS));
    },
  );
});

describe.concurrent('SIGKILL while Stripe holds charges', () => {
  let stripe: StripeServer;
  beforeAll(async () => {
    stripe = await startStripeServer();
    stripe.settings.responseDelayMs = GATEWAY_HOLD_MS;
  });
  afterAll(() => stripe.close());

  it(
    `settles every order after ${LOOPS} crashes: 0 lost, 0 doubled, 0 stuck`,
    { timeout: STARTUP_TIMEOUT_MS + LOOPS * LOOP_TIMEOUT_MS },
    async () => {
      const gateway: CrashGateway = {
        name: 'stripe',
        env: { PAYMENT_GATEWAY: 'stripe', STRIPE_SECRET_KEY: TEST_SECRET_KEY, STRIPE_API_URL: stripe.url },
        holdsAll: (_db, orderIds) => Promise.resolve(orderIds.every((id) => stripe.intentsFor(id).length > 0)),
        chargesKept: (_db, orderId) =>
          Promise.resolve(stripe.succeededChargesFor(orderId) - stripe.refundsFor(orderId).length),
      };
      expectClean(await runCrashLoops(gateway, LOOPS));
    },
  );
});
