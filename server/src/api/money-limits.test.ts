import {
  ErrorEnvelopeSchema,
  MAX_LINE_QUANTITY,
  MAX_MONEY_AMOUNT,
  MAX_ORDER_LINES,
  MAX_STOCK,
  OrderSchema,
  ProductSchema,
} from '@orders/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROTOCOLS, callApi, type ApiResponse, type Protocol } from '../../test/api-client.ts';
import { useTestApp } from '../../test/fixture.ts';
import { expectOrderListsValid } from '../../test/order-lists.ts';
import { createGatedGateway, createOrder, orderTableCounts, stocksOf } from '../../test/orders-api.ts';
import { insertProducts } from '../../test/seed-products.ts';
import { createSimulatedGateway } from '../services/payment-gateway/index.ts';

/**
 * Money at and around its limits, as properties: whatever prices, stocks, quantities and line
 * counts an admin and a customer send, an answer is either a 4xx envelope that changed nothing
 * or a 2xx that matches the procedure's output schema (a declined card, 402, keeps its order as
 * payment_failed, as designed); and afterwards every order list still answers and validates.
 * Each run's expected answer is computed from its input, so a wrong refusal fails too.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_204);
const INT32_MAX = 2_147_483_647;

const gateway = createGatedGateway(createSimulatedGateway({ latencyMs: 0 }));
const {
  app,
  users: { customer, admin },
} = useTestApp({
  env: { RATE_LIMIT_PER_IP: '10000' },
  gateway,
  logQueries: false,
  users: { customer: 'customer', admin: 'admin' },
});

/** Integers near every limit that applies to them, and some anywhere. */
function nearLimits(limits: number[], { min, max }: { min: number; max: number }): fc.Arbitrary<number> {
  const edges = limits.flatMap((limit) => [limit - 1, limit, limit + 1]);
  return fc.oneof(fc.constantFrom(...edges), fc.integer({ min, max }));
}

const protocolArb = fc.constantFrom(...PROTOCOLS);
const priceArb = nearLimits([0, MAX_MONEY_AMOUNT, INT32_MAX], { min: -1, max: 2 * INT32_MAX });
const stockArb = nearLimits([0, MAX_STOCK, INT32_MAX], { min: 0, max: MAX_STOCK });

function expectRefusal(res: ApiResponse, { status, code }: { status: number; code: string }): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(ErrorEnvelopeSchema.parse(res.error)).toMatchObject({ code, request_id: res.requestId });
}

describe('products.create and products.update by an admin, with prices and stocks around their limits', () => {
  const acceptable = (price: number, stock: number) =>
    price >= 0 && price <= MAX_MONEY_AMOUNT && stock >= 0 && stock <= MAX_STOCK;
  let sequence = 0;

  async function productRow(where: { sku: string } | { id: string }) {
    const [column, value] = 'sku' in where ? (['sku', where.sku] as const) : (['id', where.id] as const);
    return app.database.db
      .selectFrom('products')
      .select(['price_amount', 'stock'])
      .where(column, '=', value)
      .executeTakeFirst();
  }

  it('creates exactly the products within the limits, and answers a Product', async () => {
    await fc.assert(
      fc.asyncProperty(protocolArb, priceArb, stockArb, async (protocol, price, stock) => {
        sequence += 1;
        const sku = `LIMIT-${sequence}`;
        const input = { sku, name: `Limit ${sequence}`, price: { amount: price, currency: 'EUR' }, stock };
        const res = await callApi(app.url, 'products.create', { protocol, input, token: admin.accessToken });
        if (!acceptable(price, stock)) {
          expectRefusal(res, { status: 400, code: 'VALIDATION_FAILED' });
          expect(await productRow({ sku })).toBeUndefined();
          return;
        }
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(ProductSchema.parse(res.data)).toMatchObject({ sku, price: { amount: price }, stock });
        expect(await productRow({ sku })).toEqual({ price_amount: price, stock });
      }),
      { numRuns: 60, seed: SEED, endOnFailure: true },
    );
  });

  it('updates a product only to prices and stocks within the limits, and answers a Product', async () => {
    const [productId = ''] = await insertProducts(app.database.db, [{ price_amount: 100, stock: 5 }]);
    await fc.assert(
      fc.asyncProperty(protocolArb, priceArb, stockArb, async (protocol, price, stock) => {
        const before = await productRow({ id: productId });
        const input = { productId, price: { amount: price, currency: 'EUR' }, stock };
        const res = await callApi(app.url, 'products.update', { protocol, input, token: admin.accessToken });
        if (!acceptable(price, stock)) {
          expectRefusal(res, { status: 400, code: 'VALIDATION_FAILED' });
          expect(await productRow({ id: productId })).toEqual(before);
          return;
        }
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(ProductSchema.parse(res.data)).toMatchObject({ id: productId, price: { amount: price }, stock });
        expect(await productRow({ id: productId })).toEqual({ price_amount: price, stock });
      }),
      { numRuns: 60, seed: SEED, endOnFailure: true },
    );
  });
});

interface LineCase {
  price: number;
  quantity: number;
  /** The product's stock against the line's quantity. */
  stock: 'enough' | 'short';
}

const DIVISORS_OF_MAX = [1, 2, 4, 5, 8, 10, 16, 25, 40, 125, 200, 500, 1000].filter(
  (divisor) => MAX_MONEY_AMOUNT % divisor === 0 && divisor <= MAX_LINE_QUANTITY,
);
/** The price at which a full order (every line at the largest quantity) costs exactly the maximum. */
const FULL_ORDER_PRICE = MAX_MONEY_AMOUNT / (MAX_ORDER_LINES * MAX_LINE_QUANTITY);

const anyPriceArb = nearLimits([0, MAX_MONEY_AMOUNT], { min: 0, max: MAX_MONEY_AMOUNT }).filter(
  (price) => price >= 0 && price <= MAX_MONEY_AMOUNT,
);
/** Cheap enough for a full order of such lines to stay within the maximum. */
const cheapPriceArb = fc.integer({ min: 0, max: FULL_ORDER_PRICE });
const quantityArb = nearLimits([1, MAX_LINE_QUANTITY], { min: 1, max: MAX_LINE_QUANTITY }).filter(
  (quantity) => quantity >= 1 && quantity <= MAX_LINE_QUANTITY,
);

/**
 * A short order's line: a price near its limits or a cheap one, a quantity near its limits (0 and one past the maximum,
 * which the input schema refuses, included), a stock now and then too small for it.
 */
const edgyLineArb: fc.Arbitrary<LineCase> = fc.record({
  price: fc.oneof(anyPriceArb, cheapPriceArb),
  quantity: nearLimits([1, MAX_LINE_QUANTITY], { min: 1, max: MAX_LINE_QUANTITY }),
  stock: fc.oneof(
    { arbitrary: fc.constant('enough' as const), weight: 4 },
    { arbitrary: fc.constant('short' as const), weight: 1 },
  ),
});

/** A long order's line: a valid quantity and enough stock, so that its total decides the answer. */
function lineWith(price: fc.Arbitrary<number>): fc.Arbitrary<LineCase> {
  return fc.record({ price, quantity: quantityArb, stock: fc.constant('enough' as const) });
}

/** Lines whose total is exactly the maximum, or just past it: one line, or a full order. */
const exactTotalArb: fc.Arbitrary<LineCase[]> = fc.oneof(
  fc
    .record({ divisor: fc.constantFrom(...DIVISORS_OF_MAX), over: fc.boolean() })
    .map(({ divisor, over }) => [
      { price: MAX_MONEY_AMOUNT / divisor, quantity: divisor, stock: 'enough' as const },
      ...(over ? [{ price: 1, quantity: 1, stock: 'enough' as const }] : []),
    ]),
  fc.boolean().map((over) =>
    Array.from({ length: MAX_ORDER_LINES }, (_, index) => ({
      price: FULL_ORDER_PRICE + (over && index === 0 ? 1 : 0),
      quantity: MAX_LINE_QUANTITY,
      stock: 'enough' as const,
    })),
  ),
);

const linesArb: fc.Arbitrary<LineCase[]> = fc.oneof(
  fc.array(edgyLineArb, { minLength: 1, maxLength: 3 }),
  fc.array(lineWith(cheapPriceArb), { minLength: MAX_ORDER_LINES - 1, maxLength: MAX_ORDER_LINES + 1 }),
  fc.array(lineWith(fc.oneof(anyPriceArb, cheapPriceArb)), { minLength: 0, maxLength: MAX_ORDER_LINES }),
  exactTotalArb,
);

/** What orders.create must answer for `lines`, worked out from the input alone. */
function expectedAnswer(lines: LineCase[], paymentMethod: string): { status: number; code?: string } {
  const valid =
    lines.length >= 1 &&
    lines.length <= MAX_ORDER_LINES &&
    lines.every((line) => line.quantity >= 1 && line.quantity <= MAX_LINE_QUANTITY);
  if (!valid) return { status: 400, code: 'VALIDATION_FAILED' };
  const total = lines.reduce((sum, line) => sum + line.price * line.quantity, 0);
  if (total > MAX_MONEY_AMOUNT) return { status: 422, code: 'ORDER_TOTAL_TOO_LARGE' };
  if (lines.some((line) => line.stock === 'short')) return { status: 409, code: 'OUT_OF_STOCK' };
  return paymentMethod === 'pm_card_visa' ? { status: 200 } : { status: 402, code: 'PAYMENT_DECLINED' };
}

describe('orders.create with prices, quantities and line counts around the limits', () => {
  const tally = new Map<string, number>();

  it('refuses with a 4xx that changed nothing, or places an order that matches OrderSchema', async () => {
    await fc.assert(
      fc.asyncProperty(
        protocolArb,
        linesArb,
        fc.constantFrom('pm_card_visa', 'pm_card_chargeDeclined'),
        async (protocol: Protocol, lines, paymentMethod) => {
          const stocks = lines.map((line) =>
            line.stock === 'short' ? Math.max(line.quantity - 1, 0) : line.quantity + 3,
          );
          const products = lines.map((line, index) => ({ price_amount: line.price, stock: stocks[index] ?? 0 }));
          const productIds = products.length === 0 ? [] : await insertProducts(app.database.db, products);
          const items = lines.map((line, index) => ({ productId: productIds[index] ?? '', quantity: line.quantity }));
          const before = { counts: await orderTableCounts(app), charges: gateway.calls.charges };
          const res = await createOrder(app, { protocol, token: customer.accessToken, items, paymentMethod });
          const expected = expectedAnswer(lines, paymentMethod);
          const kind = expected.code ?? String(expected.status);
          tally.set(kind, (tally.get(kind) ?? 0) + 1);
          const after = { counts: await orderTableCounts(app), charges: gateway.calls.charges };
          const stocksAfter = await stocksOf(app, productIds);

          if (expected.status === 200) {
            expect(res.status, JSON.stringify(res.body)).toBe(200);
            const order = OrderSchema.parse(res.data);
            const total = lines.reduce((sum, line) => sum + line.price * line.quantity, 0);
            expect(order).toMatchObject({ status: 'paid', total: { amount: total } });
            expect(order.items).toHaveLength(lines.length);
            expect(stocksAfter).toEqual(stocks.map((stock, index) => stock - (lines[index]?.quantity ?? 0)));
            expect(after.charges).toBe(before.charges + 1);
            return;
          }
          expectRefusal(res, { status: expected.status, code: expected.code ?? '' });
          expect(stocksAfter).toEqual(stocks);
          if (expected.code === 'PAYMENT_DECLINED') {
            // Charged once and declined: the order is kept, unpaid, with its stock given back.
            expect(after.charges).toBe(before.charges + 1);
            expect(after.counts.orders).toBe(before.counts.orders + 1);
            expect(after.counts.payments).toBe(before.counts.payments + 1);
            return;
          }
          expect(after).toEqual(before);
        },
      ),
      { numRuns: 200, seed: SEED, endOnFailure: true },
    );
    // The generators reach every kind of answer, or the property proves less than it says.
    expect([...tally.keys()].sort()).toEqual(
      ['200', 'ORDER_TOTAL_TOO_LARGE', 'OUT_OF_STOCK', 'PAYMENT_DECLINED', 'VALIDATION_FAILED'].sort(),
    );
  });

  it('leaves every order list answering and matching its schema, v1 and v2, for the customer and the admin', async () => {
    const seen = await expectOrderListsValid(app, [customer, admin]);
    expect(seen.get(customer)?.length).toBeGreaterThan(0);
    expect(seen.get(admin)).toEqual(seen.get(customer));
  });
});
