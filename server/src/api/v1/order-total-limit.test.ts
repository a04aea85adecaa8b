import { OrderSchema, type Order } from '@orders/shared';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOLS, expectError } from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { expectOrderListsValid } from '../../../test/order-lists.ts';
import { createGatedGateway, createOrder, orderTableCounts, stocksOf } from '../../../test/orders-api.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { newId } from '../../core/ids.ts';
import { createSimulatedGateway } from '../../services/payment-gateway/index.ts';

/**
 * The API's money maximum is 1,000,000,000 minor units (Money.amount), while the database's
 * integer columns hold up to 2,147,483,647. An order whose total fell in between used to be
 * reserved, charged and committed, then answered 500 (its output broke OrderSchema), and every
 * list holding it answered 500 from then on. It must be refused before anything is taken.
 */

const gateway = createGatedGateway(createSimulatedGateway({ latencyMs: 0 }));
const {
  app,
  users: { alice, admin },
} = useTestApp({ env: { RATE_LIMIT_PER_IP: '10000' }, gateway, users: { alice: 'customer', admin: 'admin' } });

const OVER_THE_LIMIT: [label: string, lines: { price: number; quantity: number }[]][] = [
  ['one line of 1,200,000,000', [{ price: 600_000_000, quantity: 2 }]],
  ['one line of 2,000,000,000, just under the database integer maximum', [{ price: 1_000_000_000, quantity: 2 }]],
  [
    'two lines within the limit adding up to 1,000,000,001',
    [
      { price: 500_000_000, quantity: 1 },
      { price: 500_000_001, quantity: 1 },
    ],
  ],
  ['a total of 3,000,000,000, over the database integer maximum', [{ price: 1_000_000_000, quantity: 3 }]],
];

describe.each(PROTOCOLS)('an order total above the money maximum, over %s', (protocol) => {
  describe.each(['pm_card_visa', 'pm_card_chargeDeclined'])('paid with %s', (paymentMethod) => {
    it.each(OVER_THE_LIMIT)(
      'refuses %s with 422 ORDER_TOTAL_TOO_LARGE, reserving and charging nothing',
      async (_, lines) => {
        const productIds = await insertProducts(
          app.database.db,
          lines.map((line) => ({ price_amount: line.price, stock: 5 })),
        );
        const before = await orderTableCounts(app);
        const charges = gateway.calls.charges;
        const res = await createOrder(app, {
          protocol,
          token: alice.accessToken,
          paymentMethod,
          items: lines.map((line, index) => ({ productId: productIds[index] ?? '', quantity: line.quantity })),
        });
        const envelope = expectError(res, { status: 422, code: 'ORDER_TOTAL_TOO_LARGE' });
        expect(envelope.message).toMatch(/is over the largest order total of 1,000,000,000 minor units/);
        expect(await orderTableCounts(app)).toEqual(before);
        expect(await stocksOf(app, productIds)).toEqual(productIds.map(() => 5));
        expect(gateway.calls.charges).toBe(charges);
        expect(app.logs.events('unhandled_exception', { request_id: res.requestId })).toEqual([]);
      },
    );
  });

  it('accepts an order whose total is exactly the maximum', async () => {
    const [productId = ''] = await insertProducts(app.database.db, [{ price_amount: 500_000_000, stock: 5 }]);
    const res = await createOrder(app, { protocol, token: alice.accessToken, items: [{ productId, quantity: 2 }] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const order: Order = OrderSchema.parse(res.data);
    expect(order).toMatchObject({ status: 'paid', total: { amount: 1_000_000_000, currency: 'EUR' } });
    expect(await stocksOf(app, [productId])).toEqual([3]);
  });
});

describe('after the refusals', () => {
  it('lists every order of the customer and of the admin, through v1 and v2, over both protocols', async () => {
    const seen = await expectOrderListsValid(app, [alice, admin]);
    expect(seen.get(alice)).toHaveLength(PROTOCOLS.length);
    expect(seen.get(admin)).toEqual(seen.get(alice));
  });
});

describe('the database holds the money contract', () => {
  let productId: string;
  let orderId: string;
  beforeAll(async () => {
    [productId = ''] = await insertProducts(app.database.db, [{ price_amount: 100, stock: 5 }]);
    orderId = newId('ord');
    await app.database.db
      .insertInto('orders')
      .values({ id: orderId, user_id: alice.id, status: 'paid', currency: 'EUR', total_amount: 100 })
      .execute();
  });

  /** Runs `write` and answers the name of the CHECK constraint it broke, or null when it was written. */
  async function brokenConstraint(write: () => Promise<unknown>): Promise<string | null> {
    try {
      await write();
      return null;
    } catch (error) {
      const { code, constraint } = error as { code?: string; constraint?: string };
      expect(code).toBe('23514');
      return constraint ?? null;
    }
  }

  const db = () => app.database.db;
  const line = (fields: { quantity?: number; unit_price_amount?: number; line_total_amount?: number }) => ({
    order_id: orderId,
    product_id: productId,
    product_name: 'Limit mug',
    quantity: 1,
    unit_price_amount: 100,
    line_total_amount: 100,
    ...fields,
  });
  const payment = (amount: number) => ({
    id: newId('pay'),
    order_id: orderId,
    amount,
    currency: 'EUR',
    status: 'succeeded' as const,
    gateway: 'simulated',
    payment_method: 'pm_card_visa',
  });

  it.each([
    [
      'a product price',
      'products_price_amount_check',
      () => sql`update products set price_amount = 1000000001 where id = ${productId}`,
    ],
    ['a negative stock', 'products_stock_check', () => sql`update products set stock = -1 where id = ${productId}`],
    [
      'an order total',
      'orders_total_amount_check',
      () => sql`update orders set total_amount = 1000000001 where id = ${orderId}`,
    ],
    [
      'a negative order total',
      'orders_total_amount_check',
      () => sql`update orders set total_amount = -1 where id = ${orderId}`,
    ],
  ])('refuses %s out of range (%s)', async (_, constraint, statement) => {
    expect(await brokenConstraint(() => statement().execute(db()))).toBe(constraint);
  });

  it.each([
    ['a unit price', 'order_items_unit_price_amount_check', { unit_price_amount: 1_000_000_001 }],
    ['a line total', 'order_items_line_total_amount_check', { line_total_amount: 1_000_000_001 }],
    ['a quantity of 0', 'order_items_quantity_check', { quantity: 0 }],
  ])('refuses %s out of range in an order line (%s)', async (_, constraint, fields) => {
    expect(await brokenConstraint(() => db().insertInto('order_items').values(line(fields)).execute())).toBe(
      constraint,
    );
  });

  it('refuses a payment amount out of range, and keeps one at the maximum', async () => {
    const insert = (amount: number) => () => db().insertInto('payments').values(payment(amount)).execute();
    expect(await brokenConstraint(insert(1_000_000_001))).toBe('payments_amount_check');
    expect(await brokenConstraint(insert(-1))).toBe('payments_amount_check');
    expect(await brokenConstraint(insert(1_000_000_000))).toBeNull();
  });
});
