import { describe, expect, it } from 'vitest';
import { PROTOCOLS, expectError } from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { createOrder, orderIdsOf, orderRowOf, payOrder } from '../../../test/orders-api.ts';
import { insertProducts } from '../../../test/seed-products.ts';

const {
  app,
  users: { alice },
} = useTestApp({ env: { RATE_LIMIT_PER_IP: '10000' }, users: { alice: 'customer' } });

async function product(): Promise<string> {
  const [id] = await insertProducts(app.database.db, [{ price_amount: 700, stock: 5 }]);
  if (id === undefined) throw new Error('no product inserted');
  return id;
}

/** The one order a call added to alice's orders. */
async function newOrderOf(before: string[]): Promise<string> {
  const added = (await orderIdsOf(app, alice.id)).filter((id) => !before.includes(id));
  expect(added).toHaveLength(1);
  return added[0] ?? '';
}

describe.each(PROTOCOLS)('a failed charge names the order it kept, over %s', (protocol) => {
  it.each([
    { paymentMethod: 'pm_card_chargeDeclined', status: 402, code: 'PAYMENT_DECLINED' },
    { paymentMethod: 'pm_card_chargeDeclinedProcessingError', status: 502, code: 'PAYMENT_GATEWAY_UNAVAILABLE' },
  ])('orders.create answers $status $code with order_id', async ({ paymentMethod, status, code }) => {
    const productId = await product();
    const before = await orderIdsOf(app, alice.id);
    const res = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [{ productId, quantity: 1 }],
      paymentMethod,
    });
    const envelope = expectError(res, { status, code });
    const kept = await newOrderOf(before);
    expect(envelope.order_id).toBe(kept);
    expect((await orderRowOf(app, kept))?.status).toBe('payment_failed');
  });

  it('orders.pay answers a second decline with the same order_id, and the order can be paid again', async () => {
    const productId = await product();
    const before = await orderIdsOf(app, alice.id);
    const first = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [{ productId, quantity: 1 }],
      paymentMethod: 'pm_card_chargeDeclined',
    });
    const orderId = expectError(first, { status: 402, code: 'PAYMENT_DECLINED' }).order_id ?? '';
    expect(orderId).toBe(await newOrderOf(before));
    const again = await payOrder(app, {
      protocol,
      token: alice.accessToken,
      orderId,
      paymentMethod: 'pm_card_chargeDeclinedExpiredCard',
    });
    expect(expectError(again, { status: 402, code: 'PAYMENT_DECLINED' }).order_id).toBe(orderId);
    const paid = await payOrder(app, { protocol, token: alice.accessToken, orderId });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.data).toMatchObject({ id: orderId, status: 'paid' });
  });

  it('other refusals carry no order_id', async () => {
    const res = await createOrder(app, { protocol, token: alice.accessToken, items: [] });
    expect(expectError(res, { status: 400, code: 'VALIDATION_FAILED' })).not.toHaveProperty('order_id');
  });
});
