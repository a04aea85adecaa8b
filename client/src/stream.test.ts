import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertProducts } from '../../server/test/seed-products.ts';
import { startTestApp, type TestApp } from '../../server/test/test-app.ts';
import { createOrdersClient, isOrdersError, type OrdersClient } from './index.ts';

let app: TestApp;
let productId: string;
let client: OrdersClient;

beforeAll(async () => {
  app = await startTestApp({}, { logQueries: false });
  [productId = ''] = await insertProducts(app.database.db, [{ name: 'Streamed mug', sku: 'STREAM-MUG', stock: 50 }]);
  const anonymous = createOrdersClient({ url: `${app.url}/trpc`, stream: true });
  const session = await anonymous.v1.auth.register.mutate({
    email: 'streamed@example.com',
    password: 'a long enough password',
    name: 'Streamed',
  });
  client = createOrdersClient({ url: `${app.url}/trpc`, stream: true, getAccessToken: () => session.accessToken });
});
afterAll(() => app.close());

const input = (paymentMethod = 'pm_card_visa') => ({ items: [{ productId, quantity: 1 }], paymentMethod });

describe('createOrdersClient with stream: true (httpBatchStreamLink)', () => {
  it('answers a batch of queries, each call with its own result', async () => {
    const [page, product] = await Promise.all([
      client.v1.products.list.query({ q: 'streamed' }),
      client.v1.products.get.query({ productId }),
    ]);
    expect(page.items.map((item) => item.id)).toEqual([productId]);
    expect(product.name).toBe('Streamed mug');
    const streamed = app.logs.events('http_request', { path: '/trpc/v1.products.list,v1.products.get' });
    expect(streamed).toHaveLength(1);
  });

  it('keeps per-call keys apart, and rejects a failed call of the batch with its envelope', async () => {
    const [paid, declined, replayed] = await Promise.allSettled([
      client.v1.orders.create.mutate(input(), { context: { idempotencyKey: 'stream-a' } }),
      client.v1.orders.create.mutate(input('pm_card_chargeDeclined'), { context: { idempotencyKey: 'stream-b' } }),
      client.v1.orders.create.mutate(input(), { context: { idempotencyKey: 'stream-c' } }),
    ]);
    if (paid.status !== 'fulfilled' || replayed.status !== 'fulfilled') throw new Error('expected two paid orders');
    expect(paid.value.status).toBe('paid');
    expect(replayed.value.id).not.toBe(paid.value.id);
    const error: unknown = declined.status === 'rejected' ? declined.reason : undefined;
    if (!isOrdersError(error, 'PAYMENT_DECLINED')) throw new Error('expected a decline');
    expect(error.data.httpStatus).toBe(402);
    expect(error.data.order_id).toMatch(/^ord_/);

    const again = await client.v1.orders.create.mutate(input(), { context: { idempotencyKey: 'stream-a' } });
    expect(again.id).toBe(paid.value.id);
  });
});
