import Stripe from 'stripe';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../../../test/fixture.ts';
import { accessLine, waitForLines } from '../../../test/http-client.ts';
import { createOrder, orderRowOf, paymentRowsOf, stockOf } from '../../../test/orders-api.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import {
  TEST_SECRET_KEY,
  TEST_WEBHOOK_SECRET,
  startStripeServer,
  type Delivery,
  type StripeServer,
} from '../../../test/stripe/stripe-server.ts';
import { eventOf } from '../../../test/stripe/stripe-objects.ts';

/**
 * POST /webhooks/stripe, delivered by the suite's Stripe-compatible server with Stripe's
 * signature scheme: verified, applied once, in any order of arrival; refused with the exact
 * reason when the signature is bad, missing or stale, changing nothing.
 */

let stripe: StripeServer;
const env: Record<string, string> = {
  PAYMENT_GATEWAY: 'stripe',
  STRIPE_SECRET_KEY: TEST_SECRET_KEY,
  STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
};
beforeAll(async () => {
  stripe = await startStripeServer();
  env.STRIPE_API_URL = stripe.url;
});
afterAll(() => stripe.close());

const {
  app,
  users: { alice },
} = useTestApp({ env, users: { alice: 'customer' } });

beforeAll(() => stripe.sendWebhooksTo(`${app.url}/webhooks/stripe`, { auto: false }));

type StripeEvent = StripeServer['events'][number];

function eventFor(orderId: string, type: string): StripeEvent {
  const event = stripe.events.find(
    (candidate) =>
      candidate.type === type &&
      ((candidate.data.object as { metadata?: Record<string, string> }).metadata?.order_id ?? '') === orderId,
  );
  if (!event) throw new Error(`no ${type} event for ${orderId}`);
  return event;
}

/** An order placed through Stripe, then put back as a process killed before recording the answer leaves it. */
async function orderLeftPending(paymentMethod = 'pm_card_visa') {
  const [productId = ''] = await insertProducts(app.database.db, [{ stock: 5, price_amount: 1000 }]);
  await createOrder(app, {
    protocol: 'rest',
    token: alice.accessToken,
    items: [{ productId, quantity: 2 }],
    paymentMethod,
  });
  const row = await app.database.db
    .selectFrom('orders')
    .select(['id', 'status'])
    .where('user_id', '=', alice.id)
    .orderBy('created_at', 'desc')
    .executeTakeFirstOrThrow();
  if (row.status === 'payment_failed') {
    await sql`update products set stock = stock - 2 where id = ${productId}`.execute(app.database.db);
  }
  await sql`update orders set status = 'pending_payment' where id = ${row.id}`.execute(app.database.db);
  await sql`update payments set status = 'pending', gateway_reference = null, decline_code = null,
    failure_reason = null where order_id = ${row.id}`.execute(app.database.db);
  return { orderId: row.id, productId };
}

async function webhookEvents(): Promise<number> {
  const row = await app.database.db
    .selectFrom('webhook_events')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

async function receivedLine(delivery: Delivery) {
  const [line] = await waitForLines(app.logs, {
    event: 'webhook_received',
    filter: { request_id: delivery.requestId },
  });
  return line;
}

async function rejectedLine(delivery: Delivery) {
  const [line] = await waitForLines(app.logs, {
    event: 'webhook_rejected',
    filter: { request_id: delivery.requestId },
  });
  return line;
}

describe('POST /webhooks/stripe', () => {
  it('records a payment_intent.succeeded for an attempt left pending, and logs the event', async () => {
    const { orderId, productId } = await orderLeftPending();
    const event = eventFor(orderId, 'payment_intent.succeeded');
    const delivery = await stripe.deliver(event);
    expect(delivery.status).toBe(200);
    expect(JSON.parse(delivery.body)).toEqual({ received: true });
    expect((await orderRowOf(app, orderId))?.status).toBe('paid');
    const [payment] = await paymentRowsOf(app, orderId);
    expect(payment).toMatchObject({ status: 'succeeded', gateway_reference: (event.data.object as { id: string }).id });
    expect(await stockOf(app, productId)).toBe(3);
    expect(await receivedLine(delivery)).toMatchObject({
      level: 'INFO',
      gateway: 'stripe',
      context: { event_id: event.id, type: 'payment_intent.succeeded', outcome: 'recorded' },
    });
    expect(await accessLine(app.logs, delivery.requestId)).toMatchObject({
      method: 'POST',
      path: '/webhooks/stripe',
      status: 200,
    });
  });

  it('treats a redelivered event as a no-op', async () => {
    const { orderId, productId } = await orderLeftPending();
    const event = eventFor(orderId, 'payment_intent.succeeded');
    await stripe.deliver(event);
    const events = await webhookEvents();
    const again = await stripe.deliver(event);
    expect(again.status).toBe(200);
    expect(await receivedLine(again)).toMatchObject({ context: { event_id: event.id, outcome: 'duplicate' } });
    expect(await webhookEvents()).toBe(events);
    expect((await paymentRowsOf(app, orderId)).map((row) => row.status)).toEqual(['succeeded']);
    expect(await stockOf(app, productId)).toBe(3);
  });

  it('fails the order and gives its stock back on payment_intent.payment_failed', async () => {
    const { orderId, productId } = await orderLeftPending('pm_card_chargeDeclinedExpiredCard');
    expect(await stockOf(app, productId)).toBe(3);
    const delivery = await stripe.deliver(eventFor(orderId, 'payment_intent.payment_failed'));
    expect(delivery.status).toBe(200);
    expect((await orderRowOf(app, orderId))?.status).toBe('payment_failed');
    expect(await paymentRowsOf(app, orderId)).toMatchObject([{ status: 'declined', decline_code: 'expired_card' }]);
    expect(await stockOf(app, productId)).toBe(5);
  });

  it('ends the same whatever the order of arrival: a refund before the success it implies', async () => {
    const { orderId, productId } = await orderLeftPending();
    const succeeded = eventFor(orderId, 'payment_intent.succeeded');
    const intentId = (succeeded.data.object as { id: string }).id;
    const client = new Stripe(TEST_SECRET_KEY, { host: '127.0.0.1', port: new URL(stripe.url).port, protocol: 'http' });
    await client.refunds.create({ payment_intent: intentId });
    const refunded = stripe.events.find(
      (event) =>
        event.type === 'charge.refunded' &&
        (event.data.object as { payment_intent: string }).payment_intent === intentId,
    );
    if (!refunded) throw new Error('no charge.refunded event');

    expect((await stripe.deliver(refunded)).status).toBe(200);
    expect((await stripe.deliver(succeeded)).status).toBe(200);
    // A failure arriving last (Stripe retries deliveries) does not undo what came before.
    const failed = eventOf('payment_intent.payment_failed', {
      ...(succeeded.data.object as object),
      status: 'requires_payment_method',
    });
    expect((await stripe.deliver(failed)).status).toBe(200);

    expect((await orderRowOf(app, orderId))?.status).toBe('refunded');
    expect(await paymentRowsOf(app, orderId)).toMatchObject([{ status: 'refunded', gateway_reference: intentId }]);
    expect(await stockOf(app, productId)).toBe(5);
  });

  it('answers an event type it does not act on 200 and logs it', async () => {
    const event = eventOf('customer.created', { id: 'cus_123', object: 'customer' });
    const delivery = await stripe.deliver(event);
    expect(delivery.status).toBe(200);
    expect(await receivedLine(delivery)).toMatchObject({
      context: { event_id: event.id, type: 'customer.created', outcome: 'ignored' },
    });
  });

  it.each([
    [
      'signed with another secret',
      { secret: 'whsec_someoneElse0123456789' },
      'No signature in Stripe-Signature matches the body',
    ],
    [
      'signed 10 minutes ago',
      { timestamp: Math.floor(Date.now() / 1000) - 600 },
      'Stripe-Signature timestamp is outside the tolerance of 300 seconds',
    ],
    ['without a signature', { signature: '' }, 'No Stripe-Signature header'],
    ['with a malformed signature', { signature: 'v1=abc' }, 'Stripe-Signature header is malformed'],
  ])('refuses a delivery %s with 400 and the exact reason, changing nothing', async (_name, options, reason) => {
    const { orderId } = await orderLeftPending();
    const events = await webhookEvents();
    const delivery = await stripe.deliver(eventFor(orderId, 'payment_intent.succeeded'), options);
    expect(delivery.status).toBe(400);
    expect(JSON.parse(delivery.body)).toMatchObject({ code: 'BAD_REQUEST', message: `Webhook refused: ${reason}` });
    expect(await rejectedLine(delivery)).toMatchObject({ level: 'WARN', gateway: 'stripe', reason });
    expect(await webhookEvents()).toBe(events);
    expect((await orderRowOf(app, orderId))?.status).toBe('pending_payment');
    expect((await paymentRowsOf(app, orderId)).map((row) => row.status)).toEqual(['pending']);
  });
});
