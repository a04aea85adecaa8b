import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOLS, expectError } from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { waitForLines } from '../../../test/http-client.ts';
import {
  cancelOrder,
  createOrder,
  orderIdsOf,
  orderRowOf,
  payOrder,
  paymentRowsOf,
  stockOf,
} from '../../../test/orders-api.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { TEST_SECRET_KEY, startStripeServer, type StripeServer } from '../../../test/stripe/stripe-server.ts';
import { errorAnswer } from '../../../test/stripe/stripe-objects.ts';
import { reconcilePayments } from '../../services/orders/index.ts';
import { createPaymentGateway } from '../../services/payment-gateway/index.ts';

/**
 * Orders paid through PAYMENT_GATEWAY=stripe, the official SDK talking to the suite's local
 * Stripe-compatible server: what the client sees, the rows kept, and what Stripe was asked.
 */

let stripe: StripeServer;
const env: Record<string, string> = {
  PAYMENT_GATEWAY: 'stripe',
  STRIPE_SECRET_KEY: TEST_SECRET_KEY,
  RATE_LIMIT_PER_IP: '10000',
};
// Registered before the app's: the app is configured with the server's address.
beforeAll(async () => {
  stripe = await startStripeServer();
  env.STRIPE_API_URL = stripe.url;
});
afterAll(() => stripe.close());

const {
  app,
  users: { alice },
} = useTestApp({ env, users: { alice: 'customer' } });

async function product(stock: number, price = 1290): Promise<string> {
  const [id] = await insertProducts(app.database.db, [{ stock, price_amount: price }]);
  if (id === undefined) throw new Error('no product');
  return id;
}

async function newestOrderId(): Promise<string> {
  const [id] = await orderIdsOf(app, alice.id);
  if (id === undefined) throw new Error('no order');
  return id;
}

describe.each(PROTOCOLS)('PAYMENT_GATEWAY=stripe over %s', (protocol) => {
  it('charges a PaymentIntent confirmed at once, in minor units, with the order id and one key per attempt', async () => {
    const productId = await product(5);
    const res = await createOrder(app, { protocol, token: alice.accessToken, items: [{ productId, quantity: 2 }] });
    expect(res.status).toBe(200);
    expect(res.data.status).toBe('paid');
    const [intent, ...others] = stripe.intentsFor(res.data.id);
    expect(others).toEqual([]);
    expect(intent).toMatchObject({
      amount: 2580,
      currency: 'eur',
      status: 'succeeded',
      payment_method: 'pm_card_visa',
      metadata: { order_id: res.data.id },
    });
    const [payment] = await paymentRowsOf(app, res.data.id);
    expect(payment).toMatchObject({
      status: 'succeeded',
      gateway: 'stripe',
      gateway_reference: intent?.id,
      idempotency_key: `${res.data.id}:attempt-1`,
    });
    expect(await stockOf(app, productId)).toBe(3);
  });

  it("answers a decline 402 PAYMENT_DECLINED with Stripe's decline code, then takes another card", async () => {
    const productId = await product(2);
    const declined = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [{ productId, quantity: 2 }],
      paymentMethod: 'pm_card_chargeDeclinedInsufficientFunds',
    });
    expect(expectError(declined, { status: 402, code: 'PAYMENT_DECLINED' }).message).toContain('insufficient funds');
    const orderId = await newestOrderId();
    expect((await orderRowOf(app, orderId))?.status).toBe('payment_failed');
    expect(await stockOf(app, productId)).toBe(2);
    const [line] = await waitForLines(app.logs, {
      event: 'PaymentGatewayError',
      filter: { request_id: declined.requestId },
    });
    expect(line).toMatchObject({
      reason: 'Card declined: insufficient funds',
      context: { decline_code: 'insufficient_funds', order_id: orderId },
    });

    const paid = await payOrder(app, { protocol, token: alice.accessToken, orderId });
    expect(paid.status).toBe(200);
    expect(paid.data.status).toBe('paid');
    expect(stripe.intentsFor(orderId).map((intent) => intent.status)).toEqual(['requires_payment_method', 'succeeded']);
    expect(
      (await paymentRowsOf(app, orderId)).map((row) => [row.status, row.decline_code, row.idempotency_key]),
    ).toEqual([
      ['declined', 'insufficient_funds', `${orderId}:attempt-1`],
      ['succeeded', null, `${orderId}:attempt-2`],
    ]);
    expect(await stockOf(app, productId)).toBe(0);
  });

  it('refunds a cancelled paid order through the Refunds API and gives its stock back', async () => {
    const productId = await product(3);
    const created = await createOrder(app, { protocol, token: alice.accessToken, items: [{ productId, quantity: 1 }] });
    const cancelled = await cancelOrder(app, { protocol, token: alice.accessToken, orderId: created.data.id });
    expect(cancelled.status).toBe(200);
    expect(cancelled.data.status).toBe('refunded');
    const [refund, ...others] = stripe.refundsFor(created.data.id);
    expect(others).toEqual([]);
    expect(refund).toMatchObject({ amount: 1290, status: 'succeeded' });
    const [payment] = await paymentRowsOf(app, created.data.id);
    expect(payment).toMatchObject({ status: 'refunded', refund_reference: refund?.id });
    expect(await stockOf(app, productId)).toBe(3);
  });

  it.each([
    [
      'rate limit',
      errorAnswer(429, { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' }),
      'rate limited',
    ],
    ['API error', errorAnswer(500, { type: 'api_error', message: 'Something went wrong on our end' }), 'api error'],
  ])("answers Stripe's %s 502 PAYMENT_GATEWAY_UNAVAILABLE, never a 500", async (_name, answer, reason) => {
    const productId = await product(1);
    stripe.failNext(answer);
    const res = await createOrder(app, { protocol, token: alice.accessToken, items: [{ productId, quantity: 1 }] });
    expect(expectError(res, { status: 502, code: 'PAYMENT_GATEWAY_UNAVAILABLE' }).message).toContain(reason);
    expect(JSON.stringify(res.body)).not.toMatch(/stack|at \w+ \(/);
    expect(await stockOf(app, productId)).toBe(1);
    const paid = await payOrder(app, { protocol, token: alice.accessToken, orderId: await newestOrderId() });
    expect(paid.data.status).toBe('paid');
  });

  it('declines a payment method Stripe does not know as invalid_payment_method', async () => {
    const productId = await product(1);
    const res = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [{ productId, quantity: 1 }],
      paymentMethod: 'pm_card_unknown',
    });
    expect(expectError(res, { status: 402, code: 'PAYMENT_DECLINED' }).message).toContain('invalid payment method');
  });
});

describe('the Stripe gateway when Stripe cannot be reached', () => {
  const {
    app: offline,
    users: { carol },
  } = useTestApp({
    env: {
      PAYMENT_GATEWAY: 'stripe',
      STRIPE_SECRET_KEY: TEST_SECRET_KEY,
      // Nothing listens on port 9 (discard) of the loopback address.
      STRIPE_API_URL: 'http://127.0.0.1:9',
    },
    users: { carol: 'customer' },
  });

  it('answers 502 PAYMENT_GATEWAY_UNAVAILABLE and keeps the attempt as failed', async () => {
    const [productId = ''] = await insertProducts(offline.database.db, [{ stock: 1 }]);
    const res = await createOrder(offline, {
      protocol: 'rest',
      token: carol.accessToken,
      items: [{ productId, quantity: 1 }],
    });
    expect(expectError(res, { status: 502, code: 'PAYMENT_GATEWAY_UNAVAILABLE' }).message).toContain('unreachable');
    const [orderId = ''] = await orderIdsOf(offline, carol.id);
    expect((await paymentRowsOf(offline, orderId)).map((row) => row.status)).toEqual(['failed']);
    expect(await stockOf(offline, productId)).toBe(1);
  });
});

describe('the Stripe gateway when Stripe answers after the timeout', () => {
  const slowEnv: Record<string, string> = { PAYMENT_GATEWAY_TIMEOUT_MS: '200' };
  // Registered before the app's: the shared server's address is known by then.
  beforeAll(() => {
    Object.assign(slowEnv, env, { PAYMENT_GATEWAY_TIMEOUT_MS: '200' });
  });
  const {
    app: late,
    users: { dave },
  } = useTestApp({ env: slowEnv, users: { dave: 'customer' } });

  it('refunds, from the reconciler, the PaymentIntent Stripe confirmed after the order failed', async () => {
    const [productId = ''] = await insertProducts(late.database.db, [{ stock: 2, price_amount: 990 }]);
    stripe.settings.responseDelayMs = 600;
    let res;
    try {
      res = await createOrder(late, { protocol: 'rest', token: dave.accessToken, items: [{ productId, quantity: 2 }] });
    } finally {
      stripe.settings.responseDelayMs = 0;
    }
    expect(expectError(res, { status: 502, code: 'PAYMENT_GATEWAY_UNAVAILABLE' }).message).toContain('timeout');
    const [orderId = ''] = await orderIdsOf(late, dave.id);
    expect((await orderRowOf(late, orderId))?.status).toBe('payment_failed');
    expect(await stockOf(late, productId)).toBe(2);
    expect(stripe.succeededChargesFor(orderId)).toBe(1);

    const deps = {
      db: late.database.db,
      logger: late.logger,
      gateway: createPaymentGateway(late.config.paymentGateway, late.database.db),
      gatewayTimeoutMs: late.config.paymentGateway.timeoutMs,
    };
    const options = { afterSeconds: 0, singleInstance: late.database.kind === 'pglite' };
    expect(await reconcilePayments(deps, options)).toMatchObject({ late_charges_refunded: 1, deferred: 0 });
    const [intent] = stripe.intentsFor(orderId);
    expect(stripe.succeededChargesFor(orderId)).toBe(1);
    expect(stripe.refundsFor(orderId)).toMatchObject([{ payment_intent: intent?.id, amount: 1980 }]);
    expect(await paymentRowsOf(late, orderId)).toMatchObject([
      { status: 'refunded', gateway_reference: intent?.id, outcome_unknown_since: null },
    ]);
    expect((await orderRowOf(late, orderId))?.status).toBe('payment_failed');
    expect(await stockOf(late, productId)).toBe(2);

    expect(await reconcilePayments(deps, options)).toMatchObject({ late_charges_refunded: 0, deferred: 0 });
    expect(stripe.refundsFor(orderId)).toHaveLength(1);
  });
});
