import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertProducts } from '../../server/test/seed-products.ts';
import { startTestApp, type TestApp } from '../../server/test/test-app.ts';
import { createOrdersClient, isOrdersError, type OrdersClient } from './index.ts';

let app: TestApp;
let productId: string;
let client: OrdersClient;
let staticKeyClient: OrdersClient;

beforeAll(async () => {
  app = await startTestApp({}, { logQueries: false });
  [productId = ''] = await insertProducts(app.database.db, [{ name: 'Keyed mug', sku: 'KEYED-MUG', stock: 50 }]);
  const anonymous = createOrdersClient({ url: `${app.url}/trpc` });
  const session = await anonymous.v1.auth.register.mutate({
    email: 'keyed@example.com',
    password: 'a long enough password',
    name: 'Keyed',
  });
  client = createOrdersClient({ url: `${app.url}/trpc`, getAccessToken: () => session.accessToken });
  staticKeyClient = createOrdersClient({
    url: `${app.url}/trpc`,
    getAccessToken: () => session.accessToken,
    headers: { 'Idempotency-Key': 'one-key-for-every-call' },
  });
});
afterAll(() => app.close());

const input = () => ({ items: [{ productId, quantity: 1 }], paymentMethod: 'pm_card_visa' });

async function orderCount(): Promise<number> {
  const { count } = await app.database.db
    .selectFrom('orders')
    .select((eb) => eb.fn.countAll().as('count'))
    .executeTakeFirstOrThrow();
  return Number(count);
}

describe('per-call idempotency keys in @orders/client', () => {
  it('keeps two keyed creates of the same tick (one batch) two orders, and replays each by its key', async () => {
    const before = await orderCount();
    const [a, b] = await Promise.all([
      client.v1.orders.create.mutate(input(), { context: { idempotencyKey: 'client-checkout-a' } }),
      client.v1.orders.create.mutate(input(), { context: { idempotencyKey: 'client-checkout-b' } }),
    ]);
    expect(a.id).not.toBe(b.id);
    expect(await orderCount()).toBe(before + 2);
    // Both went out as one request.
    const batches = app.logs.events('http_request', { path: '/trpc/v1.orders.create,v1.orders.create' });
    expect(batches).toHaveLength(1);

    const replay = await client.v1.orders.create.mutate(input(), { context: { idempotencyKey: 'client-checkout-b' } });
    expect(replay.id).toBe(b.id);
    expect(await orderCount()).toBe(before + 2);
  });

  it('refuses a batch that would share one static Idempotency-Key between two orders, placing none', async () => {
    const before = await orderCount();
    const results = await Promise.allSettled([
      staticKeyClient.v1.orders.create.mutate(input()),
      staticKeyClient.v1.orders.create.mutate(input()),
    ]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const error: unknown = result.status === 'rejected' ? result.reason : undefined;
      expect(isOrdersError(error, 'INVALID_IDEMPOTENCY_KEY')).toBe(true);
      if (isOrdersError(error)) expect(error.data.httpStatus).toBe(400);
    }
    expect(await orderCount()).toBe(before);
  });

  it('tells a decline its kept order in order_id', async () => {
    const error = await client.v1.orders.create
      .mutate(
        { ...input(), paymentMethod: 'pm_card_chargeDeclined' },
        { context: { idempotencyKey: 'client-declined' } },
      )
      .catch((caught: unknown) => caught);
    if (!isOrdersError(error, 'PAYMENT_DECLINED')) throw new Error('expected a decline');
    const orderId = error.data.order_id ?? '';
    const paid = await client.v1.orders.pay.mutate({ orderId, paymentMethod: 'pm_card_visa' });
    expect(paid).toMatchObject({ id: orderId, status: 'paid' });
  });
});
