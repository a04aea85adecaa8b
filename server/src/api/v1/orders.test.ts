import type { Order, Page } from '@orders/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  PROTOCOLS,
  callApi,
  expectError,
  registerUser,
  withoutRequestId,
  type ApiResponse,
  type Protocol,
  type TestUser,
} from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { waitForLines } from '../../../test/http-client.ts';
import type { LogLine } from '../../../test/log-capture.ts';
import {
  cancelOrder,
  countRows,
  createOrder,
  getOrder,
  listOrders,
  listPayments,
  orderRowOf,
  orderTableCounts,
  payOrder,
  paymentRowsOf,
  stockOf,
  stocksOf,
} from '../../../test/orders-api.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import type { NewProductRow } from '../../models/index.ts';

const {
  app,
  secrets,
  users: { alice, bob, admin },
} = useTestApp({
  env: { RATE_LIMIT_PER_IP: '10000' },
  users: { alice: 'customer', bob: 'customer', admin: 'admin' },
  afterTests: (fixture) => expect(fixture.secrets.size).toBeGreaterThan(6),
});

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function product(fields: Partial<NewProductRow> = {}): Promise<string> {
  const [id] = await insertProducts(app.database.db, [fields]);
  if (id === undefined) throw new Error('no product inserted');
  return id;
}

/** The path a request's log lines carry, per protocol. */
function pathOf(protocol: Protocol, procedure: string, restPath: string): string {
  return protocol === 'rest' ? restPath : `/trpc/${procedure}`;
}

async function linesOf(event: string, res: ApiResponse, count = 1): Promise<LogLine[]> {
  return waitForLines(app.logs, { event, filter: { request_id: res.requestId }, count });
}

/** The `db_transaction` lines a request wrote, as `name:outcome`. */
async function transactionsOf(res: ApiResponse, count: number): Promise<string[]> {
  const lines = await linesOf('db_transaction', res, count);
  for (const line of lines) expect(line.duration_ms).toEqual(expect.any(Number));
  return lines.map((line) => `${String(line.name)}:${String(line.outcome)}`);
}

/** The newest of the caller's orders, as the API lists them: how a client finds an order a refusal kept. */
async function newestOrder(protocol: Protocol, user: TestUser): Promise<Order> {
  const res = await listOrders<Page<Order>>(app, { protocol, token: user.accessToken, input: { limit: 1 } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const [order] = res.data.items;
  if (!order) throw new Error('no order listed');
  return order;
}

async function paidOrder(protocol: Protocol, user: TestUser, { stock = 5, quantity = 2 } = {}) {
  const productId = await product({ price_amount: 700, stock });
  const res = await createOrder(app, { protocol, token: user.accessToken, items: [{ productId, quantity }] });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.data.status).toBe('paid');
  return { order: res.data, productId };
}

async function failedOrder(protocol: Protocol, user: TestUser, { stock = 5, quantity = 2 } = {}) {
  const productId = await product({ price_amount: 700, stock });
  const res = await createOrder(app, {
    protocol,
    token: user.accessToken,
    items: [{ productId, quantity }],
    paymentMethod: 'pm_card_chargeDeclined',
  });
  expectError(res, { status: 402, code: 'PAYMENT_DECLINED' });
  const order = await newestOrder(protocol, user);
  expect(order.status).toBe('payment_failed');
  return { order, productId };
}

describe.each(PROTOCOLS)('orders.create over %s', (protocol) => {
  it('reserves stock, charges at once and answers the paid order with its lines', async () => {
    const mug = await product({ name: 'Blue mug', price_amount: 1290, stock: 7 });
    const cap = await product({ name: 'Green cap', price_amount: 500, stock: 3 });
    const res = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [
        { productId: mug, quantity: 2 },
        { productId: cap, quantity: 1 },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const order = res.data;
    expect(order).toMatchObject({ userId: alice.id, status: 'paid', total: { amount: 3080, currency: 'EUR' } });
    expect(order.id).toMatch(/^ord_/);
    expect(order.createdAt).toMatch(ISO_UTC);
    expect(order.updatedAt).toMatch(ISO_UTC);
    expect([...order.items].sort((a, b) => a.quantity - b.quantity)).toEqual([
      {
        productId: cap,
        productName: 'Green cap',
        quantity: 1,
        unitPrice: { amount: 500, currency: 'EUR' },
        lineTotal: { amount: 500, currency: 'EUR' },
      },
      {
        productId: mug,
        productName: 'Blue mug',
        quantity: 2,
        unitPrice: { amount: 1290, currency: 'EUR' },
        lineTotal: { amount: 2580, currency: 'EUR' },
      },
    ]);
    expect(await stocksOf(app, [mug, cap])).toEqual([5, 2]);

    const payments = await paymentRowsOf(app, order.id);
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({
      status: 'succeeded',
      amount: 3080,
      currency: 'EUR',
      gateway: 'simulated',
      payment_method: 'pm_card_visa',
      decline_code: null,
    });
    expect(payments[0]?.gateway_reference).toMatch(/^ch_sim_/);

    const fetched = await getOrder(app, { protocol, token: alice.accessToken, orderId: order.id });
    expect(fetched.status).toBe(200);
    expect(fetched.data).toEqual(order);
  });

  it('writes a committed db_transaction line for each of its transactions', async () => {
    const productId = await product();
    const res = await createOrder(app, { protocol, token: alice.accessToken, items: [{ productId, quantity: 1 }] });
    expect(res.status).toBe(200);
    expect(await transactionsOf(res, 2)).toEqual(['create_order:commit', 'record_payment:commit']);
    const [created] = await linesOf('order_created', res);
    expect(created).toMatchObject({
      level: 'INFO',
      user_id: alice.id,
      context: { order_id: res.data.id, total: 1000, currency: 'EUR', lines: 1 },
    });
    expect(app.logs.events('PaymentGatewayError', { request_id: res.requestId })).toEqual([]);
  });

  it('keeps a declined order as payment_failed with its stock released, logs why, and lets it be paid again', async () => {
    const productId = await product({ price_amount: 250, stock: 5 });
    const res = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [{ productId, quantity: 2 }],
      paymentMethod: 'pm_card_chargeDeclinedInsufficientFunds',
    });
    const envelope = expectError(res, { status: 402, code: 'PAYMENT_DECLINED' });
    expect(envelope.message).toContain('Card declined: insufficient funds');

    const order = await newestOrder(protocol, alice);
    expect(order).toMatchObject({ status: 'payment_failed', total: { amount: 500, currency: 'EUR' } });
    expect(await stockOf(app, productId)).toBe(5);
    const declined = await paymentRowsOf(app, order.id);
    expect(declined).toHaveLength(1);
    expect(declined[0]).toMatchObject({
      status: 'declined',
      amount: 500,
      decline_code: 'insufficient_funds',
      failure_reason: 'Your card has insufficient funds.',
      payment_method: 'pm_card_chargeDeclinedInsufficientFunds',
    });

    const lines = await linesOf('PaymentGatewayError', res);
    expect(lines).toHaveLength(1);
    const line = lines[0] as LogLine;
    expect(line).toMatchObject({
      level: 'ERROR',
      event: 'PaymentGatewayError',
      path: pathOf(protocol, 'v1.orders.create', '/api/v1/orders/create'),
      method: 'POST',
      user_id: alice.id,
      role: 'customer',
      request_id: res.requestId,
      reason: 'Card declined: insufficient funds',
    });
    expect(line.context).toEqual({
      amount: 500,
      currency: 'EUR',
      order_id: order.id,
      decline_code: 'insufficient_funds',
      payment_method: 'pm_card_chargeDeclinedInsufficientFunds',
    });
    expect(line.timestamp).toMatch(ISO_UTC);
    expect(await transactionsOf(res, 2)).toEqual(['create_order:commit', 'record_payment:commit']);

    const paid = await payOrder(app, {
      protocol,
      token: alice.accessToken,
      orderId: order.id,
      paymentMethod: 'pm_card_visa',
    });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.data).toMatchObject({ id: order.id, status: 'paid' });
    expect(await stockOf(app, productId)).toBe(3);
    expect(await transactionsOf(paid, 2)).toEqual(['reserve_for_payment:commit', 'record_payment:commit']);

    const attempts = await listPayments(app, { protocol, token: alice.accessToken, orderId: order.id });
    expect(attempts.status).toBe(200);
    expect(attempts.data.items.map((payment) => [payment.status, payment.paymentMethod, payment.declineCode])).toEqual([
      ['declined', 'pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
      ['succeeded', 'pm_card_visa', null],
    ]);
    expect(attempts.data.items.every((payment) => payment.orderId === order.id && payment.amount.amount === 500)).toBe(
      true,
    );
  });

  it.each([
    ['pm_card_chargeDeclined', 'generic_decline', 'Card declined: generic decline'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'Card declined: expired card'],
  ])('declines %s as 402 with decline code %s', async (paymentMethod, declineCode, reason) => {
    const productId = await product({ stock: 4 });
    const res = await createOrder(app, {
      protocol,
      token: bob.accessToken,
      items: [{ productId, quantity: 4 }],
      paymentMethod,
    });
    expectError(res, { status: 402, code: 'PAYMENT_DECLINED' });
    const order = await newestOrder(protocol, bob);
    expect(order.status).toBe('payment_failed');
    expect(await stockOf(app, productId)).toBe(4);
    expect((await paymentRowsOf(app, order.id)).map((row) => [row.status, row.decline_code])).toEqual([
      ['declined', declineCode],
    ]);
    const [line] = await linesOf('PaymentGatewayError', res);
    expect(line).toMatchObject({ reason, user_id: bob.id, context: { decline_code: declineCode, order_id: order.id } });
  });

  it('answers a gateway processing error with 502, keeps the attempt as failed and releases the stock', async () => {
    const productId = await product({ price_amount: 900, stock: 2 });
    const res = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [{ productId, quantity: 2 }],
      paymentMethod: 'pm_card_chargeDeclinedProcessingError',
    });
    expectError(res, { status: 502, code: 'PAYMENT_GATEWAY_UNAVAILABLE' });
    const order = await newestOrder(protocol, alice);
    expect(order.status).toBe('payment_failed');
    expect(await stockOf(app, productId)).toBe(2);
    const rows = await paymentRowsOf(app, order.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 'failed',
      gateway_reference: null,
      decline_code: null,
      failure_reason: 'An error occurred while processing your card.',
    });
    const [line] = await linesOf('PaymentGatewayError', res);
    expect(line).toMatchObject({
      level: 'ERROR',
      reason: 'Payment gateway unavailable: processing error',
      user_id: alice.id,
    });
    expect(line?.context).toEqual({
      amount: 1800,
      currency: 'EUR',
      order_id: order.id,
      decline_code: null,
      payment_method: 'pm_card_chargeDeclinedProcessingError',
    });

    const paid = await payOrder(app, { protocol, token: alice.accessToken, orderId: order.id });
    expect(paid.data.status).toBe('paid');
    expect(await stockOf(app, productId)).toBe(0);
  });

  it('rolls everything back when a later line is out of stock, and names that product', async () => {
    const [first, second] = (await insertProducts(app.database.db, [{ stock: 5 }, { stock: 1 }])).sort();
    if (first === undefined || second === undefined) throw new Error('no products');
    // Stock is taken in product id order: the first line's stock is taken before the second fails.
    await app.database.db.updateTable('products').set({ stock: 5 }).where('id', '=', first).execute();
    await app.database.db.updateTable('products').set({ stock: 1 }).where('id', '=', second).execute();
    const before = await orderTableCounts(app);

    const res = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [
        { productId: first, quantity: 2 },
        { productId: second, quantity: 2 },
      ],
    });
    const envelope = expectError(res, { status: 409, code: 'OUT_OF_STOCK' });
    expect(envelope.message).toContain(second);
    expect(envelope.message).not.toContain(first);
    expect(await orderTableCounts(app)).toEqual(before);
    expect(await stocksOf(app, [first, second])).toEqual([5, 1]);

    const [rollback, ...more] = await linesOf('db_transaction', res);
    expect(more).toEqual([]);
    expect(rollback).toMatchObject({ level: 'WARN', name: 'create_order', outcome: 'rollback', user_id: alice.id });
    expect(rollback?.error).toMatchObject({ name: 'AppError', message: expect.stringContaining(second) as unknown });
  });

  it('answers 404 PRODUCT_NOT_FOUND for an unknown or inactive product, and writes nothing', async () => {
    const known = await product({ stock: 3 });
    const hidden = await product({ stock: 3, active: false });
    const before = await orderTableCounts(app);
    for (const missing of ['prd_DOESNOTEXIST', hidden]) {
      const res = await createOrder(app, {
        protocol,
        token: alice.accessToken,
        items: [
          { productId: known, quantity: 1 },
          { productId: missing, quantity: 1 },
        ],
      });
      const envelope = expectError(res, { status: 404, code: 'PRODUCT_NOT_FOUND' });
      expect(envelope.message).toBe(`No product with id ${missing}`);
    }
    expect(await orderTableCounts(app)).toEqual(before);
    expect(await stocksOf(app, [known, hidden])).toEqual([3, 3]);
  });

  it('answers 422 CURRENCY_MISMATCH for lines priced in different currencies, and writes nothing', async () => {
    const euros = await product({ currency: 'EUR', stock: 3 });
    const dollars = await product({ currency: 'USD', stock: 3 });
    const before = await orderTableCounts(app);
    const res = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [
        { productId: euros, quantity: 1 },
        { productId: dollars, quantity: 1 },
      ],
    });
    expectError(res, { status: 422, code: 'CURRENCY_MISMATCH' });
    expect(await orderTableCounts(app)).toEqual(before);
    expect(await stocksOf(app, [euros, dollars])).toEqual([3, 3]);
  });

  it('refuses an unauthenticated create with 401 and writes nothing', async () => {
    const productId = await product({ stock: 3 });
    const before = await orderTableCounts(app);
    const res = await createOrder(app, { protocol, items: [{ productId, quantity: 1 }] });
    expectError(res, { status: 401, code: 'UNAUTHORIZED', reason: 'Missing Header' });
    const forged = await createOrder(app, { protocol, token: 'not-a-token', items: [{ productId, quantity: 1 }] });
    expectError(forged, { status: 401, code: 'UNAUTHORIZED', reason: 'Malformed Token' });
    expect(await orderTableCounts(app)).toEqual(before);
    expect(await stockOf(app, productId)).toBe(3);
  });
});

describe('orders.create input validation', () => {
  let productId: string;
  beforeAll(async () => {
    productId = await product({ stock: 10 });
  });

  const line = (quantity = 1) => ({ productId, quantity });
  const cases: [label: string, input: () => Record<string, unknown>, issuePath: string][] = [
    ['no lines', () => ({ items: [], paymentMethod: 'pm_card_visa' }), 'items'],
    [
      '51 lines',
      () => ({
        items: Array.from({ length: 51 }, (_, index) => ({ productId: `prd_LINE${index}`, quantity: 1 })),
        paymentMethod: 'pm_card_visa',
      }),
      'items',
    ],
    ['the same product twice', () => ({ items: [line(1), line(2)], paymentMethod: 'pm_card_visa' }), 'items'],
    ['quantity 0', () => ({ items: [line(0)], paymentMethod: 'pm_card_visa' }), 'items.0.quantity'],
    ['a fractional quantity', () => ({ items: [line(1.5)], paymentMethod: 'pm_card_visa' }), 'items.0.quantity'],
    [
      'a malformed product id',
      () => ({ items: [{ productId: 'mug', quantity: 1 }], paymentMethod: 'pm_card_visa' }),
      'items.0.productId',
    ],
    ['an unknown key', () => ({ items: [line()], paymentMethod: 'pm_card_visa', coupon: 'FREE' }), ''],
    [
      'an unknown key in a line',
      () => ({ items: [{ ...line(), price: 1 }], paymentMethod: 'pm_card_visa' }),
      'items.0',
    ],
    ['a payment method that is no pm_ id', () => ({ items: [line()], paymentMethod: 'visa' }), 'paymentMethod'],
    ['no payment method', () => ({ items: [line()] }), 'paymentMethod'],
  ];

  for (const protocol of PROTOCOLS) {
    it.each(cases)(
      `refuses %s with 400 VALIDATION_FAILED over ${protocol} and writes nothing`,
      async (_label, input, issuePath) => {
        const before = await orderTableCounts(app);
        const res = await createOrder(app, { protocol, token: alice.accessToken, input: input() });
        const envelope = expectError(res, { status: 400, code: 'VALIDATION_FAILED' });
        expect(envelope.issues?.map((issue) => issue.path)).toContain(issuePath);
        expect(await orderTableCounts(app)).toEqual(before);
        expect(await stockOf(app, productId)).toBe(10);
      },
    );
  }
});

describe.each(PROTOCOLS)('order state transitions over %s', (protocol) => {
  it('refuses to pay a paid order, and changes nothing', async () => {
    const { order, productId } = await paidOrder(protocol, alice);
    const res = await payOrder(app, { protocol, token: alice.accessToken, orderId: order.id });
    const envelope = expectError(res, { status: 409, code: 'INVALID_STATE_TRANSITION' });
    expect(envelope.message).toBe(`Order ${order.id} is paid; it cannot be paid`);
    expect(await paymentRowsOf(app, order.id)).toHaveLength(1);
    expect(await stockOf(app, productId)).toBe(3);
  });

  it('refunds a paid order on cancel and restores its stock; a refunded order can be neither cancelled nor paid', async () => {
    const { order, productId } = await paidOrder(protocol, alice);
    expect(await stockOf(app, productId)).toBe(3);
    const res = await cancelOrder(app, { protocol, token: alice.accessToken, orderId: order.id });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.data).toMatchObject({ id: order.id, status: 'refunded' });
    expect(await stockOf(app, productId)).toBe(5);
    expect(await transactionsOf(res, 1)).toEqual(['record_refund:commit']);

    const rows = await paymentRowsOf(app, order.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 'refunded',
      refund_reference: expect.stringMatching(/^re_sim_/) as unknown,
    });
    expect(rows[0]?.refunded_at).toBeInstanceOf(Date);
    const payments = await listPayments(app, { protocol, token: alice.accessToken, orderId: order.id });
    expect(payments.data.items).toHaveLength(1);
    expect(payments.data.items[0]).toMatchObject({
      status: 'refunded',
      refundedAt: expect.stringMatching(ISO_UTC) as unknown,
    });

    expectError(await cancelOrder(app, { protocol, token: alice.accessToken, orderId: order.id }), {
      status: 409,
      code: 'INVALID_STATE_TRANSITION',
    });
    expectError(await payOrder(app, { protocol, token: alice.accessToken, orderId: order.id }), {
      status: 409,
      code: 'INVALID_STATE_TRANSITION',
    });
    expect(await stockOf(app, productId)).toBe(5);
    expect((await orderRowOf(app, order.id))?.status).toBe('refunded');
    expect(await paymentRowsOf(app, order.id)).toHaveLength(1);
  });

  it('cancels a payment_failed order without touching stock it already gave back; a cancelled order can be neither cancelled nor paid', async () => {
    const { order, productId } = await failedOrder(protocol, alice);
    expect(await stockOf(app, productId)).toBe(5);
    const res = await cancelOrder(app, { protocol, token: alice.accessToken, orderId: order.id });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.data).toMatchObject({ id: order.id, status: 'cancelled' });
    expect(await stockOf(app, productId)).toBe(5);

    const again = await cancelOrder(app, { protocol, token: alice.accessToken, orderId: order.id });
    expect(expectError(again, { status: 409, code: 'INVALID_STATE_TRANSITION' }).message).toBe(
      `Order ${order.id} is cancelled; it cannot be cancelled`,
    );
    expectError(await payOrder(app, { protocol, token: alice.accessToken, orderId: order.id }), {
      status: 409,
      code: 'INVALID_STATE_TRANSITION',
    });
    expect(await stockOf(app, productId)).toBe(5);
    expect((await paymentRowsOf(app, order.id)).map((row) => row.status)).toEqual(['declined']);
  });

  it('keeps a payment_failed order as it is when paying it again is declined, or its stock is gone', async () => {
    const { order, productId } = await failedOrder(protocol, alice, { stock: 5, quantity: 2 });
    const declined = await payOrder(app, {
      protocol,
      token: alice.accessToken,
      orderId: order.id,
      paymentMethod: 'pm_card_chargeDeclinedExpiredCard',
    });
    expectError(declined, { status: 402, code: 'PAYMENT_DECLINED' });
    expect((await orderRowOf(app, order.id))?.status).toBe('payment_failed');
    expect(await stockOf(app, productId)).toBe(5);

    await app.database.db.updateTable('products').set({ stock: 1 }).where('id', '=', productId).execute();
    const gone = await payOrder(app, { protocol, token: alice.accessToken, orderId: order.id });
    expect(expectError(gone, { status: 409, code: 'OUT_OF_STOCK' }).message).toContain(productId);
    expect((await orderRowOf(app, order.id))?.status).toBe('payment_failed');
    expect(await stockOf(app, productId)).toBe(1);
    expect((await paymentRowsOf(app, order.id)).map((row) => row.status)).toEqual(['declined', 'declined']);

    await app.database.db.updateTable('products').set({ stock: 2 }).where('id', '=', productId).execute();
    const paid = await payOrder(app, {
      protocol,
      token: alice.accessToken,
      orderId: order.id,
      paymentMethod: 'pm_card_mastercard',
    });
    expect(paid.data.status).toBe('paid');
    expect(await stockOf(app, productId)).toBe(0);
  });
});

describe.each(PROTOCOLS)('whose orders, over %s', (protocol) => {
  it("answers another customer's order exactly like one that does not exist: 404 ORDER_NOT_FOUND, on every procedure", async () => {
    const paid = (await paidOrder(protocol, alice)).order;
    const failed = await failedOrder(protocol, alice);
    const paymentsBefore = await countRows(app, 'payments');

    const attempts: [string, (orderId: string) => Promise<ApiResponse>][] = [
      ['get', (orderId) => getOrder(app, { protocol, token: bob.accessToken, orderId })],
      ['payments', (orderId) => listPayments(app, { protocol, token: bob.accessToken, orderId })],
      ['cancel', (orderId) => cancelOrder(app, { protocol, token: bob.accessToken, orderId })],
      ['pay', (orderId) => payOrder(app, { protocol, token: bob.accessToken, orderId })],
    ];
    for (const [name, attempt] of attempts) {
      for (const orderId of [paid.id, failed.order.id]) {
        const envelope = expectError(await attempt(orderId), { status: 404, code: 'ORDER_NOT_FOUND' });
        const unknown = expectError(await attempt('ord_DOESNOTEXIST'), { status: 404, code: 'ORDER_NOT_FOUND' });
        expect(envelope.message, name).toBe(`No order with id ${orderId}`);
        expect(withoutRequestId({ ...envelope, message: envelope.message.replace(orderId, 'X') })).toEqual(
          withoutRequestId({ ...unknown, message: unknown.message.replace('ord_DOESNOTEXIST', 'X') }),
        );
      }
    }
    expect((await orderRowOf(app, paid.id))?.status).toBe('paid');
    expect((await orderRowOf(app, failed.order.id))?.status).toBe('payment_failed');
    expect(await countRows(app, 'payments')).toBe(paymentsBefore);
    expect(await stockOf(app, failed.productId)).toBe(5);
  });

  it("lets an admin see and cancel anyone's order, but only its owner pays it", async () => {
    const { order, productId } = await paidOrder(protocol, alice);
    const got = await getOrder(app, { protocol, token: admin.accessToken, orderId: order.id });
    expect(got.status).toBe(200);
    expect(got.data).toEqual(order);
    const payments = await listPayments(app, { protocol, token: admin.accessToken, orderId: order.id });
    expect(payments.data.items.map((payment) => payment.status)).toEqual(['succeeded']);

    const cancelled = await cancelOrder(app, { protocol, token: admin.accessToken, orderId: order.id });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.data).toMatchObject({ id: order.id, userId: alice.id, status: 'refunded' });
    expect(await stockOf(app, productId)).toBe(5);

    const failed = await failedOrder(protocol, alice);
    expectError(await payOrder(app, { protocol, token: admin.accessToken, orderId: failed.order.id }), {
      status: 404,
      code: 'ORDER_NOT_FOUND',
    });
    expect((await orderRowOf(app, failed.order.id))?.status).toBe('payment_failed');
  });
});

describe('v1.orders.list', () => {
  let carol: TestUser;
  let dave: TestUser;
  let carolOrders: Order[];
  let daveOrder: Order;

  beforeAll(async () => {
    carol = await registerUser(app, { secrets, label: 'carol' });
    dave = await registerUser(app, { secrets, label: 'dave' });
    carolOrders = [
      (await paidOrder('rest', carol)).order,
      (await failedOrder('rest', carol)).order,
      (await paidOrder('trpc', carol)).order,
    ];
    daveOrder = (await paidOrder('rest', dave)).order;
  });

  const list = (protocol: Protocol, user: TestUser, input: Record<string, unknown> = {}) =>
    listOrders<Page<Order>>(app, { protocol, token: user.accessToken, input });

  it.each(PROTOCOLS)(
    'shows a customer their own orders only, newest first, whatever userId they pass (%s)',
    async (protocol) => {
      const own = await list(protocol, carol);
      expect(own.status, JSON.stringify(own.body)).toBe(200);
      expect(own.data).toMatchObject({ total: 3, limit: 20, offset: 0 });
      expect(own.data.items.map((order) => order.id)).toEqual(carolOrders.map((order) => order.id).reverse());
      expect(own.data.items[0]).toEqual(carolOrders[2]);

      const snooping = await list(protocol, carol, { userId: dave.id });
      expect(snooping.status).toBe(200);
      expect(snooping.data.total).toBe(3);
      expect(snooping.data.items.every((order) => order.userId === carol.id)).toBe(true);
    },
  );

  it.each(PROTOCOLS)('pages with limit and offset and filters by status (%s)', async (protocol) => {
    const second = await list(protocol, carol, { limit: 1, offset: 1 });
    expect(second.data).toMatchObject({ total: 3, limit: 1, offset: 1 });
    expect(second.data.items.map((order) => order.id)).toEqual([carolOrders[1]?.id]);
    const failed = await list(protocol, carol, { status: 'payment_failed' });
    expect(failed.data.items.map((order) => order.id)).toEqual([carolOrders[1]?.id]);
    expectError(await list(protocol, carol, { limit: 101 }), { status: 400, code: 'VALIDATION_FAILED' });
  });

  it.each(PROTOCOLS)("shows an admin everyone's orders, or one user's with userId (%s)", async (protocol) => {
    const all = await list(protocol, admin, { limit: 100 });
    expect(all.status).toBe(200);
    expect(all.data.total).toBe(await countRows(app, 'orders'));
    expect(new Set(all.data.items.map((order) => order.userId))).toEqual(
      new Set([alice.id, bob.id, carol.id, dave.id]),
    );

    const daves = await list(protocol, admin, { userId: dave.id });
    expect(daves.data.total).toBe(1);
    expect(daves.data.items).toEqual([daveOrder]);
  });

  it.each(PROTOCOLS)('refuses an anonymous caller (%s)', async (protocol) => {
    expectError(await listOrders(app, { protocol }), { status: 401, code: 'UNAUTHORIZED', reason: 'Missing Header' });
  });
});

describe('v2 serves the v1 order procedures as they are', () => {
  it.each(PROTOCOLS)('creates, gets and cancels an order under v2 (%s)', async (protocol) => {
    const productId = await product({ stock: 2 });
    const created = await createOrder(app, {
      protocol,
      version: 'v2',
      token: bob.accessToken,
      items: [{ productId, quantity: 2 }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.data.status).toBe('paid');
    const got = await getOrder(app, { protocol, version: 'v2', token: bob.accessToken, orderId: created.data.id });
    expect(got.data).toEqual(created.data);
    const cancelled = await cancelOrder(app, {
      protocol,
      version: 'v2',
      token: bob.accessToken,
      orderId: created.data.id,
    });
    expect(cancelled.data.status).toBe('refunded');
    expect(await stockOf(app, productId)).toBe(2);
    const payments = await callApi<{ items: unknown[] }>(app.url, 'orders.payments', {
      protocol,
      version: 'v2',
      token: bob.accessToken,
      input: { orderId: created.data.id },
    });
    expect(payments.data.items).toHaveLength(1);
  });
});

describe('when the payment gateway is slower than its timeout', () => {
  const {
    app: slow,
    users: { slow: customer },
  } = useTestApp({
    env: { PAYMENT_GATEWAY_LATENCY_MS: '500', PAYMENT_GATEWAY_TIMEOUT_MS: '100' },
    users: { slow: 'customer' },
    secrets,
  });

  it.each(PROTOCOLS)('answers 502, records the attempt as failed and releases the stock (%s)', async (protocol) => {
    const [productId] = await insertProducts(slow.database.db, [{ price_amount: 1500, stock: 3 }]);
    if (productId === undefined) throw new Error('no product');
    const res = await createOrder(slow, { protocol, token: customer.accessToken, items: [{ productId, quantity: 3 }] });
    expect(expectError(res, { status: 502, code: 'PAYMENT_GATEWAY_UNAVAILABLE' }).message).toContain('timeout');

    const [orderId] = (
      await slow.database.db
        .selectFrom('orders')
        .select('id')
        .where('user_id', '=', customer.id)
        .orderBy('created_at', 'desc')
        .limit(1)
        .execute()
    ).map((row) => row.id);
    if (orderId === undefined) throw new Error('no order kept');
    expect((await orderRowOf(slow, orderId))?.status).toBe('payment_failed');
    expect(await stockOf(slow, productId)).toBe(3);
    const rows = await paymentRowsOf(slow, orderId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 'failed',
      gateway_reference: null,
      failure_reason: 'The payment gateway did not answer within 100 ms',
    });

    const [line] = await waitForLines(slow.logs, {
      event: 'PaymentGatewayError',
      filter: { request_id: res.requestId },
    });
    expect(line).toMatchObject({
      level: 'ERROR',
      reason: 'Payment gateway unavailable: timeout',
      user_id: customer.id,
    });
    expect(line?.context).toMatchObject({ order_id: orderId, amount: 4500, currency: 'EUR', decline_code: null });
  });
});
