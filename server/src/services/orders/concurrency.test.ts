import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PROTOCOLS,
  SecretLedger,
  expectError,
  registerUser,
  type ApiResponse,
  type TestUser,
} from '../../../test/api-client.ts';
import { waitForLines } from '../../../test/http-client.ts';
import {
  cancelOrder,
  createGatedGateway,
  createOrder,
  orderIdsOf,
  orderRowOf,
  payOrder,
  paymentRowsOf,
  stockOf,
  stocksOf,
} from '../../../test/orders-api.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { startTestApp, type TestApp } from '../../../test/test-app.ts';
import { onRealPostgres } from '../../../test/test-database.ts';
import type { NewProductRow } from '../../models/index.ts';
import { createSimulatedGateway } from '../payment-gateway/index.ts';

let app: TestApp;
const secrets = new SecretLedger();
// A little latency, so concurrent requests are all in flight at once, as in production.
const simulated = createSimulatedGateway({ latencyMs: 5 });
const gateway = createGatedGateway(simulated);
let alice: TestUser;

const NEEDS_POSTGRES = 'needs real PostgreSQL: PGlite runs one connection at a time';

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_PER_IP: '10000' }, { gateway, logQueries: false });
  alice = await registerUser(app, { secrets, label: 'alice' });
});

afterAll(async () => {
  try {
    await app.logger.flush();
    secrets.expectNoneIn(app.logs.text);
    expect(app.logs.events('unhandled_exception')).toEqual([]);
  } finally {
    await app.close();
  }
});

async function product(fields: Partial<NewProductRow> = {}): Promise<string> {
  const [id] = await insertProducts(app.database.db, [fields]);
  if (id === undefined) throw new Error('no product inserted');
  return id;
}

/** Runs `work` while sampling `sample` over and over, and answers both. */
async function sampling<Result>(
  work: Promise<Result>,
  sample: () => Promise<number>,
): Promise<{ result: Result; samples: number[] }> {
  let finished = false;
  const tracked = work.finally(() => {
    finished = true;
  });
  const samples: number[] = [];
  while (!finished) {
    samples.push(await sample());
    await sleep(2);
  }
  return { result: await tracked, samples };
}

function statusCounts(responses: ApiResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const res of responses) counts[res.status] = (counts[res.status] ?? 0) + 1;
  return counts;
}

/** Orders holding `productId`, by status, and how many units they hold. */
async function ordersOf(productId: string): Promise<{ status: string; orders: number; units: number }[]> {
  const { rows } = await sql<{ status: string; orders: string | number; units: string | number }>`
    select o.status, count(*) as orders, sum(i.quantity) as units
    from orders o join order_items i on i.order_id = o.id
    where i.product_id = ${productId}
    group by o.status order by o.status`.execute(app.database.db);
  return rows.map((row) => ({ status: row.status, orders: Number(row.orders), units: Number(row.units) }));
}

describe('no oversell', () => {
  it.skipIf(!onRealPostgres)(
    `sells exactly the stock to 50 customers ordering at once (${NEEDS_POSTGRES})`,
    async () => {
      const productId = await product({ stock: 10 });
      const customers = await Promise.all(
        Array.from({ length: 50 }, (_, index) => registerUser(app, { secrets, label: `buyer${index}` })),
      );

      const { result: responses, samples } = await sampling(
        Promise.all(
          customers.map((customer, index) =>
            createOrder(app, {
              protocol: PROTOCOLS[index % 2] ?? 'rest',
              token: customer.accessToken,
              items: [{ productId, quantity: 1 }],
            }),
          ),
        ),
        () => stockOf(app, productId),
      );

      expect(statusCounts(responses)).toEqual({ 200: 10, 409: 40 });
      expect(
        responses
          .filter((res) => res.status === 200)
          .every((res) => (res.data as { status: string }).status === 'paid'),
      ).toBe(true);
      for (const refused of responses.filter((res) => res.status === 409))
        expectError(refused, { status: 409, code: 'OUT_OF_STOCK' });
      expect(await stockOf(app, productId)).toBe(0);
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
      expect(await ordersOf(productId)).toEqual([{ status: 'paid', orders: 10, units: 10 }]);
      expect(
        new Set(responses.filter((res) => res.status === 200).map((res) => (res.data as { userId: string }).userId))
          .size,
      ).toBe(10);
    },
  );

  it.skipIf(!onRealPostgres)(
    `sells exactly the stock to one customer sending 50 orders at once (${NEEDS_POSTGRES})`,
    async () => {
      const productId = await product({ stock: 10 });
      const { result: responses, samples } = await sampling(
        Promise.all(
          Array.from({ length: 50 }, (_, index) =>
            createOrder(app, {
              protocol: PROTOCOLS[index % 2] ?? 'rest',
              token: alice.accessToken,
              items: [{ productId, quantity: 1 }],
            }),
          ),
        ),
        () => stockOf(app, productId),
      );
      expect(statusCounts(responses)).toEqual({ 200: 10, 409: 40 });
      expect(await stockOf(app, productId)).toBe(0);
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
      expect(await ordersOf(productId)).toEqual([{ status: 'paid', orders: 10, units: 10 }]);
    },
  );

  it.skipIf(!onRealPostgres)(
    `never sells more than there is when quantities differ and some cards are declined (${NEEDS_POSTGRES})`,
    async () => {
      const productId = await product({ stock: 10 });
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          createOrder(app, {
            protocol: PROTOCOLS[index % 2] ?? 'rest',
            token: alice.accessToken,
            items: [{ productId, quantity: 1 + (index % 3) }],
            paymentMethod: index % 4 === 0 ? 'pm_card_chargeDeclined' : 'pm_card_visa',
          }),
        ),
      );
      expect(responses.every((res) => [200, 402, 409].includes(res.status))).toBe(true);
      const held = await ordersOf(productId);
      const sold = held.find((row) => row.status === 'paid')?.units ?? 0;
      expect(held.every((row) => row.status === 'paid' || row.status === 'payment_failed')).toBe(true);
      expect(sold).toBeGreaterThan(0);
      expect(sold).toBeLessThanOrEqual(10);
      expect(await stockOf(app, productId)).toBe(10 - sold);
    },
  );

  it.skipIf(!onRealPostgres)(
    `takes stock for lines given in opposite orders without deadlocks (${NEEDS_POSTGRES})`,
    async () => {
      const [first = '', second = ''] = await insertProducts(app.database.db, [{ stock: 100 }, { stock: 100 }]);
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, index) => {
          const lines = [
            { productId: first, quantity: 1 },
            { productId: second, quantity: 1 },
          ];
          return createOrder(app, {
            protocol: PROTOCOLS[index % 2] ?? 'rest',
            token: alice.accessToken,
            items: index % 2 === 0 ? lines : lines.reverse(),
            paymentMethod: index % 4 < 2 ? 'pm_card_visa' : 'pm_card_chargeDeclined',
          });
        }),
      );
      expect(statusCounts(responses)).toEqual({ 200: 20, 402: 20 });
      expect(await stocksOf(app, [first, second])).toEqual([80, 80]);
    },
  );
});

describe('idempotency under concurrency', () => {
  it.skipIf(!onRealPostgres)(
    `makes one order and one charge of 10 concurrent creates with one key, over both protocols (${NEEDS_POSTGRES})`,
    async () => {
      const productId = await product({ stock: 10 });
      const key = `race-${Date.now()}`;
      const charges = simulated.chargesMade();
      const before = await orderIdsOf(app, alice.id);

      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          createOrder(app, {
            protocol: PROTOCOLS[index % 2] ?? 'rest',
            token: alice.accessToken,
            items: [{ productId, quantity: 3 }],
            headers: { 'Idempotency-Key': key },
          }),
        ),
      );
      expect(statusCounts(responses)).toEqual({ 200: 10 });
      const ids = new Set(responses.map((res) => (res.data as { id: string }).id));
      expect(ids.size).toBe(1);
      const [orderId = ''] = ids;
      expect((await orderIdsOf(app, alice.id)).filter((id) => !before.includes(id))).toEqual([orderId]);
      expect(await paymentRowsOf(app, orderId)).toHaveLength(1);
      expect(simulated.chargesMade()).toBe(charges + 1);
      expect(await stockOf(app, productId)).toBe(7);
      await app.logger.flush();
      const replays = app.logs
        .events('idempotent_replay')
        .filter((line) => (line.context as { idempotency_key?: string }).idempotency_key === key);
      expect(replays).toHaveLength(9);
    },
  );

  it.skipIf(!onRealPostgres)(
    `answers 10 concurrent declined creates with one key with one 402 order (${NEEDS_POSTGRES})`,
    async () => {
      const productId = await product({ stock: 10 });
      const key = `declined-race-${Date.now()}`;
      const before = await orderIdsOf(app, alice.id);
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          createOrder(app, {
            protocol: PROTOCOLS[index % 2] ?? 'rest',
            token: alice.accessToken,
            items: [{ productId, quantity: 3 }],
            paymentMethod: 'pm_card_chargeDeclinedInsufficientFunds',
            headers: { 'Idempotency-Key': key },
          }),
        ),
      );
      for (const res of responses) expectError(res, { status: 402, code: 'PAYMENT_DECLINED' });
      const created = (await orderIdsOf(app, alice.id)).filter((id) => !before.includes(id));
      expect(created).toHaveLength(1);
      expect((await paymentRowsOf(app, created[0] ?? '')).map((row) => row.status)).toEqual(['declined']);
      expect(await stockOf(app, productId)).toBe(10);
      expect(
        app.logs
          .events('PaymentGatewayError')
          .filter((line) => (line.context as { order_id?: string }).order_id === created[0]),
      ).toHaveLength(1);
    },
  );

  it.skipIf(!onRealPostgres)(
    `charges once for 5 concurrent pays of one order with one key (${NEEDS_POSTGRES})`,
    async () => {
      const productId = await product({ stock: 5 });
      expectError(
        await createOrder(app, {
          protocol: 'rest',
          token: alice.accessToken,
          items: [{ productId, quantity: 2 }],
          paymentMethod: 'pm_card_chargeDeclined',
        }),
        {
          status: 402,
          code: 'PAYMENT_DECLINED',
        },
      );
      const [orderId = ''] = await orderIdsOf(app, alice.id);
      const charges = simulated.chargesMade();
      const responses = await Promise.all(
        Array.from({ length: 5 }, (_, index) =>
          payOrder(app, {
            protocol: PROTOCOLS[index % 2] ?? 'rest',
            token: alice.accessToken,
            orderId,
            headers: { 'Idempotency-Key': `pay-${orderId}` },
          }),
        ),
      );
      expect(statusCounts(responses)).toEqual({ 200: 5 });
      expect(responses.every((res) => (res.data as { status: string }).status === 'paid')).toBe(true);
      expect(simulated.chargesMade()).toBe(charges + 1);
      expect((await paymentRowsOf(app, orderId)).map((row) => row.status)).toEqual(['declined', 'succeeded']);
      expect(await stockOf(app, productId)).toBe(3);
    },
  );
});

describe('racing state transitions', () => {
  it.skipIf(!onRealPostgres)(
    `lets one of 5 concurrent pays of a payment_failed order win; the rest are 409 (${NEEDS_POSTGRES})`,
    async () => {
      const productId = await product({ stock: 5 });
      expectError(
        await createOrder(app, {
          protocol: 'rest',
          token: alice.accessToken,
          items: [{ productId, quantity: 2 }],
          paymentMethod: 'pm_card_chargeDeclined',
        }),
        {
          status: 402,
          code: 'PAYMENT_DECLINED',
        },
      );
      const [orderId = ''] = await orderIdsOf(app, alice.id);
      const charges = simulated.chargesMade();
      const responses = await Promise.all(
        Array.from({ length: 5 }, (_, index) =>
          payOrder(app, { protocol: PROTOCOLS[index % 2] ?? 'rest', token: alice.accessToken, orderId }),
        ),
      );
      expect(statusCounts(responses)).toEqual({ 200: 1, 409: 4 });
      for (const refused of responses.filter((res) => res.status === 409))
        expectError(refused, { status: 409, code: 'INVALID_STATE_TRANSITION' });
      expect(simulated.chargesMade()).toBe(charges + 1);
      expect((await paymentRowsOf(app, orderId)).map((row) => row.status)).toEqual(['declined', 'succeeded']);
      expect(await stockOf(app, productId)).toBe(3);
    },
  );

  it.skipIf(!onRealPostgres)(
    `refunds and restocks a paid order once however many cancels race (${NEEDS_POSTGRES})`,
    async () => {
      const productId = await product({ stock: 5 });
      const created = await createOrder(app, {
        protocol: 'rest',
        token: alice.accessToken,
        items: [{ productId, quantity: 2 }],
      });
      expect(created.data.status).toBe('paid');
      const responses = await Promise.all(
        Array.from({ length: 5 }, (_, index) =>
          cancelOrder(app, {
            protocol: PROTOCOLS[index % 2] ?? 'rest',
            token: alice.accessToken,
            orderId: created.data.id,
          }),
        ),
      );
      expect(responses.every((res) => res.status === 200 || res.status === 409)).toBe(true);
      expect(
        responses
          .filter((res) => res.status === 200)
          .every((res) => (res.data as { status: string }).status === 'refunded'),
      ).toBe(true);
      expect(await stockOf(app, productId)).toBe(5);
      const rows = await paymentRowsOf(app, created.data.id);
      expect(rows.map((row) => row.status)).toEqual(['refunded']);
      expect((await orderRowOf(app, created.data.id))?.status).toBe('refunded');
    },
  );

  it.skipIf(!onRealPostgres)(
    `cancels a payment_failed order once however many cancels race (${NEEDS_POSTGRES})`,
    async () => {
      const productId = await product({ stock: 5 });
      expectError(
        await createOrder(app, {
          protocol: 'rest',
          token: alice.accessToken,
          items: [{ productId, quantity: 2 }],
          paymentMethod: 'pm_card_chargeDeclined',
        }),
        {
          status: 402,
          code: 'PAYMENT_DECLINED',
        },
      );
      const [orderId = ''] = await orderIdsOf(app, alice.id);
      const responses = await Promise.all(
        Array.from({ length: 5 }, (_, index) =>
          cancelOrder(app, { protocol: PROTOCOLS[index % 2] ?? 'rest', token: alice.accessToken, orderId }),
        ),
      );
      expect(statusCounts(responses)).toEqual({ 200: 1, 409: 4 });
      expect(await stockOf(app, productId)).toBe(5);
    },
  );
});

describe('while a charge is in flight', () => {
  it('cancelling the order gives its stock back once, and the late charge is refunded and recorded so', async () => {
    const productId = await product({ stock: 5 });
    const refunds = gateway.calls.refunds;
    gateway.hold();
    const creating = createOrder(app, {
      protocol: 'rest',
      token: alice.accessToken,
      items: [{ productId, quantity: 2 }],
    });
    try {
      await expect.poll(() => gateway.waiting).toBe(1);
      const [orderId = ''] = await orderIdsOf(app, alice.id);
      expect((await orderRowOf(app, orderId))?.status).toBe('pending_payment');
      expect(await stockOf(app, productId)).toBe(3);

      const cancelled = await cancelOrder(app, { protocol: 'trpc', token: alice.accessToken, orderId });
      expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
      expect(cancelled.data.status).toBe('cancelled');
      expect(await stockOf(app, productId)).toBe(5);
    } finally {
      gateway.release();
    }

    const res = await creating;
    expectError(res, { status: 409, code: 'INVALID_STATE_TRANSITION' });
    const [orderId = ''] = await orderIdsOf(app, alice.id);
    expect((await orderRowOf(app, orderId))?.status).toBe('cancelled');
    expect(await stockOf(app, productId)).toBe(5);
    expect(gateway.calls.refunds).toBe(refunds + 1);
    const [line] = await waitForLines(app.logs, {
      event: 'late_charge_refunded',
      filter: { request_id: res.requestId },
    });
    expect(line).toMatchObject({ level: 'WARN', context: { order_id: orderId } });

    const rows = await paymentRowsOf(app, orderId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 'refunded',
      refund_reference: expect.stringMatching(/^re_sim_/) as unknown,
    });
    expect(rows[0]?.refunded_at).toBeInstanceOf(Date);
  });

  it('a different request with a key still in progress is 409 IDEMPOTENCY_KEY_REUSED at once', async () => {
    const productId = await product({ stock: 5 });
    const key = `in-flight-${Date.now()}`;
    gateway.hold();
    const first = createOrder(app, {
      protocol: 'rest',
      token: alice.accessToken,
      items: [{ productId, quantity: 1 }],
      headers: { 'Idempotency-Key': key },
    });
    try {
      await expect.poll(() => gateway.waiting).toBe(1);
      const other = await createOrder(app, {
        protocol: 'trpc',
        token: alice.accessToken,
        items: [{ productId, quantity: 2 }],
        headers: { 'Idempotency-Key': key },
      });
      expectError(other, { status: 409, code: 'IDEMPOTENCY_KEY_REUSED' });
    } finally {
      gateway.release();
    }
    expect((await first).status).toBe(200);
    expect(await stockOf(app, productId)).toBe(4);
  });
});

describe('after a gateway timeout', () => {
  let slow: TestApp;
  let customer: TestUser;
  const lateGateway = createSimulatedGateway({ latencyMs: 0 });
  const held = createGatedGateway(lateGateway);

  beforeAll(async () => {
    slow = await startTestApp({ PAYMENT_GATEWAY_TIMEOUT_MS: '200' }, { gateway: held, logQueries: false });
    customer = await registerUser(slow, { secrets, label: 'late' });
  });
  afterAll(async () => {
    try {
      await slow.logger.flush();
      secrets.expectNoneIn(slow.logs.text);
    } finally {
      await slow.close();
    }
  });

  it('paying again does not charge a second time when the timed-out charge went through after all', async () => {
    const [productId = ''] = await insertProducts(slow.database.db, [{ stock: 5 }]);
    held.hold();
    let res: ApiResponse;
    try {
      res = await createOrder(slow, {
        protocol: 'rest',
        token: customer.accessToken,
        items: [{ productId, quantity: 2 }],
      });
    } finally {
      held.release();
    }
    expectError(res, { status: 502, code: 'PAYMENT_GATEWAY_UNAVAILABLE' });
    // The gateway answered after we stopped waiting: the card was charged.
    await expect.poll(() => lateGateway.chargesMade()).toBe(1);
    const [orderId = ''] = await orderIdsOf(slow, customer.id);
    expect((await orderRowOf(slow, orderId))?.status).toBe('payment_failed');
    expect(await stockOf(slow, productId)).toBe(5);

    const paid = await payOrder(slow, { protocol: 'trpc', token: customer.accessToken, orderId });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.data.status).toBe('paid');
    expect(lateGateway.chargesMade()).toBe(1);
    expect((await paymentRowsOf(slow, orderId)).map((row) => row.status)).toEqual(['failed', 'succeeded']);
    expect(await stockOf(slow, productId)).toBe(3);
  });
});
