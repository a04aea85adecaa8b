import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PROTOCOLS,
  SecretLedger,
  expectError,
  registerUser,
  withoutRequestId,
  type TestUser,
} from '../../../test/api-client.ts';
import { waitForLines } from '../../../test/http-client.ts';
import {
  countRows,
  createOrder,
  orderIdsOf,
  orderRowOf,
  orderTableCounts,
  payOrder,
  paymentRowsOf,
  stockOf,
} from '../../../test/orders-api.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { startTestApp, type TestApp } from '../../../test/test-app.ts';
import { AppError } from '../../core/errors.ts';
import type { NewProductRow } from '../../models/index.ts';
import { createSimulatedGateway } from '../payment-gateway/index.ts';
import { runIdempotent } from './idempotency.ts';

let app: TestApp;
const secrets = new SecretLedger();
const gateway = createSimulatedGateway({ latencyMs: 0 });
let alice: TestUser;
let bob: TestUser;
let keyCount = 0;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_PER_IP: '10000' }, { gateway });
  alice = await registerUser(app, { secrets, label: 'alice' });
  bob = await registerUser(app, { secrets, label: 'bob' });
});

afterAll(async () => {
  try {
    await app.logger.flush();
    expect(secrets.size).toBeGreaterThan(4);
    secrets.expectNoneIn(app.logs.text);
  } finally {
    await app.close();
  }
});

/** A fresh key, as a client makes one per checkout. */
function newKey(label = 'checkout'): string {
  keyCount += 1;
  return `${label}-${keyCount}-${Math.random().toString(36).slice(2, 10)}`;
}

const keyed = (key: string) => ({ 'Idempotency-Key': key });

async function product(fields: Partial<NewProductRow> = {}): Promise<string> {
  const [id] = await insertProducts(app.database.db, [fields]);
  if (id === undefined) throw new Error('no product inserted');
  return id;
}

async function keyRow(user: TestUser, key: string) {
  return app.database.db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('user_id', '=', user.id)
    .where('key', '=', key)
    .executeTakeFirst();
}

describe.each(PROTOCOLS)('Idempotency-Key on orders.create over %s', (protocol) => {
  it('answers a replay with the same order and charges once', async () => {
    const productId = await product({ stock: 5 });
    const key = newKey();
    const charges = gateway.chargesMade();
    const items = [{ productId, quantity: 2 }];

    const first = await createOrder(app, { protocol, token: alice.accessToken, items, headers: keyed(key) });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const replay = await createOrder(app, { protocol, token: alice.accessToken, items, headers: keyed(key) });
    expect(replay.status, JSON.stringify(replay.body)).toBe(200);
    expect(replay.data.id).toBe(first.data.id);
    expect(replay.data).toEqual(first.data);

    expect(gateway.chargesMade()).toBe(charges + 1);
    expect(await paymentRowsOf(app, first.data.id)).toHaveLength(1);
    expect(await stockOf(app, productId)).toBe(3);
    expect(await keyRow(alice, key)).toMatchObject({
      state: 'done',
      order_id: first.data.id,
      operation: 'orders.create',
      error_code: null,
    });

    const [line] = await waitForLines(app.logs, {
      event: 'idempotent_replay',
      filter: { request_id: replay.requestId },
    });
    expect(line?.context).toMatchObject({ idempotency_key: key, operation: 'orders.create', order_id: first.data.id });
    // Its one statement is the placing one, which claims a key only when it is new: it found
    // the key, locked and wrote nothing, and the request turned to the replay.
    const replayed = app.logs.events('db_transaction', { request_id: replay.requestId });
    expect(replayed.map((line) => [line.name, line.outcome])).toEqual([['create_order', 'commit']]);
  });

  it('claims a new key in the statement that places the order: no round trip of its own', async () => {
    const productId = await product({ stock: 5 });
    const key = newKey();
    const items = [{ productId, quantity: 1 }];
    const placed = await createOrder(app, { protocol, token: alice.accessToken, items, headers: keyed(key) });
    expect(placed.status, JSON.stringify(placed.body)).toBe(200);
    await app.logger.flush();
    const statements = app.logs.events('db_query', { request_id: placed.requestId }).map((line) => String(line.sql));
    const named = statements.map((text) => /^\/\* (\w+) \*\//.exec(text)?.[1]);
    expect(named.filter((name) => name === 'place_order')).toHaveLength(1);
    // Only the named statements (placing, recording) touch the key.
    expect(statements.filter((text, index) => !named[index] && text.includes('idempotency_keys'))).toEqual([]);
    expect(await keyRow(alice, key)).toMatchObject({
      state: 'done',
      order_id: placed.data.id,
      operation: 'orders.create',
    });
  });

  it('treats the same body with its keys in another order as the same request', async () => {
    const productId = await product({ stock: 5 });
    const key = newKey();
    const first = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      headers: keyed(key),
      input: { items: [{ productId, quantity: 1 }], paymentMethod: 'pm_card_visa' },
    });
    const reordered = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      headers: keyed(key),
      input: { paymentMethod: 'pm_card_visa', items: [{ quantity: 1, productId }] },
    });
    expect(reordered.status, JSON.stringify(reordered.body)).toBe(200);
    expect(reordered.data.id).toBe(first.data.id);
    expect(await stockOf(app, productId)).toBe(4);
  });

  it('refuses the same key with another body with 409 IDEMPOTENCY_KEY_REUSED, and changes nothing', async () => {
    const productId = await product({ stock: 5 });
    const key = newKey();
    const first = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [{ productId, quantity: 1 }],
      headers: keyed(key),
    });
    expect(first.status).toBe(200);
    const keyBefore = await keyRow(alice, key);
    const countsBefore = await orderTableCounts(app);
    const charges = gateway.chargesMade();

    for (const input of [
      { items: [{ productId, quantity: 2 }], paymentMethod: 'pm_card_visa' },
      { items: [{ productId, quantity: 1 }], paymentMethod: 'pm_card_mastercard' },
    ]) {
      const res = await createOrder(app, { protocol, token: alice.accessToken, input, headers: keyed(key) });
      expectError(res, { status: 409, code: 'IDEMPOTENCY_KEY_REUSED' });
    }
    const asPay = await payOrder(app, {
      protocol,
      token: alice.accessToken,
      orderId: first.data.id,
      headers: keyed(key),
    });
    expectError(asPay, { status: 409, code: 'IDEMPOTENCY_KEY_REUSED' });

    expect(await orderTableCounts(app)).toEqual(countsBefore);
    expect(await stockOf(app, productId)).toBe(4);
    expect(gateway.chargesMade()).toBe(charges);
    expect(await keyRow(alice, key)).toEqual(keyBefore);

    const replay = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [{ productId, quantity: 1 }],
      headers: keyed(key),
    });
    expect(replay.data.id).toBe(first.data.id);
  });

  it('replays a declined first attempt as the same 402, without charging or logging it again', async () => {
    const productId = await product({ stock: 5 });
    const key = newKey();
    const request = {
      protocol,
      token: alice.accessToken,
      items: [{ productId, quantity: 2 }],
      paymentMethod: 'pm_card_chargeDeclinedInsufficientFunds',
      headers: keyed(key),
    };
    const countsBefore = await orderTableCounts(app);

    const first = await createOrder(app, request);
    const firstEnvelope = expectError(first, { status: 402, code: 'PAYMENT_DECLINED' });
    const replay = await createOrder(app, request);
    const replayEnvelope = expectError(replay, { status: 402, code: 'PAYMENT_DECLINED' });
    expect(withoutRequestId(replayEnvelope)).toEqual(withoutRequestId(firstEnvelope));

    const [orderId] = await orderIdsOf(app, alice.id);
    if (orderId === undefined) throw new Error('no order kept');
    expect(await orderTableCounts(app)).toEqual({
      orders: countsBefore.orders + 1,
      order_items: countsBefore.order_items + 1,
      payments: countsBefore.payments + 1,
    });
    expect((await paymentRowsOf(app, orderId)).map((row) => row.status)).toEqual(['declined']);
    expect(await stockOf(app, productId)).toBe(5);
    expect(await keyRow(alice, key)).toMatchObject({
      state: 'done',
      order_id: orderId,
      error_code: 'PAYMENT_DECLINED',
    });
    await waitForLines(app.logs, { event: 'PaymentGatewayError', filter: { request_id: first.requestId } });
    expect(app.logs.events('PaymentGatewayError', { request_id: replay.requestId })).toEqual([]);

    // The key keeps the first answer even after the order was paid with another method.
    const paid = await payOrder(app, { protocol, token: alice.accessToken, orderId });
    expect(paid.data.status).toBe('paid');
    expectError(await createOrder(app, request), { status: 402, code: 'PAYMENT_DECLINED' });
    expect((await orderRowOf(app, orderId))?.status).toBe('paid');
  });

  it('keeps keys per user: the same key from someone else is their own new order', async () => {
    const productId = await product({ stock: 5 });
    const key = newKey();
    const items = [{ productId, quantity: 1 }];
    const alices = await createOrder(app, { protocol, token: alice.accessToken, items, headers: keyed(key) });
    const bobs = await createOrder(app, { protocol, token: bob.accessToken, items, headers: keyed(key) });
    expect(bobs.status).toBe(200);
    expect(bobs.data.id).not.toBe(alices.data.id);
    expect(bobs.data.userId).toBe(bob.id);
    expect(await stockOf(app, productId)).toBe(3);
  });

  it.each([
    ['300 characters', 'k'.repeat(300)],
    ['a space', 'my key'],
    ['nothing at all', ''],
  ])('refuses a key of %s with 400 INVALID_IDEMPOTENCY_KEY and writes nothing', async (_label, key) => {
    const productId = await product({ stock: 5 });
    const countsBefore = await orderTableCounts(app);
    const keysBefore = await countRows(app, 'idempotency_keys');
    const res = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [{ productId, quantity: 1 }],
      headers: keyed(key),
    });
    expectError(res, { status: 400, code: 'INVALID_IDEMPOTENCY_KEY' });
    expect(await orderTableCounts(app)).toEqual(countsBefore);
    expect(await countRows(app, 'idempotency_keys')).toBe(keysBefore);
    expect(await stockOf(app, productId)).toBe(5);
  });

  it('accepts a key of 255 visible characters', async () => {
    const productId = await product({ stock: 5 });
    const key = `${newKey('long')}-`.padEnd(255, '~');
    const res = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [{ productId, quantity: 1 }],
      headers: keyed(key),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await keyRow(alice, key)).toMatchObject({ order_id: res.data.id });
  });
});

describe('Idempotency-Key across protocols', () => {
  it('replays over REST a create first sent over tRPC, and the other way round', async () => {
    const productId = await product({ stock: 5 });
    const items = [{ productId, quantity: 1 }];
    const rpcKey = newKey();
    const viaRpc = await createOrder(app, {
      protocol: 'trpc',
      token: alice.accessToken,
      items,
      headers: keyed(rpcKey),
    });
    const replayedOverRest = await createOrder(app, {
      protocol: 'rest',
      token: alice.accessToken,
      items,
      headers: keyed(rpcKey),
    });
    expect(replayedOverRest.data).toEqual(viaRpc.data);

    const restKey = newKey();
    const viaRest = await createOrder(app, {
      protocol: 'rest',
      token: alice.accessToken,
      items,
      headers: keyed(restKey),
    });
    const replayedOverRpc = await createOrder(app, {
      protocol: 'trpc',
      token: alice.accessToken,
      items,
      headers: keyed(restKey),
    });
    expect(replayedOverRpc.data).toEqual(viaRest.data);
    expect(viaRest.data.id).not.toBe(viaRpc.data.id);
    expect(await stockOf(app, productId)).toBe(3);
  });
});

describe.each(PROTOCOLS)('Idempotency-Key on orders.pay over %s', (protocol) => {
  it('answers a replayed payment with the paid order and charges once; another payment method is 409', async () => {
    const productId = await product({ stock: 5 });
    const declined = await createOrder(app, {
      protocol,
      token: alice.accessToken,
      items: [{ productId, quantity: 2 }],
      paymentMethod: 'pm_card_chargeDeclined',
    });
    expectError(declined, { status: 402, code: 'PAYMENT_DECLINED' });
    const [orderId] = await orderIdsOf(app, alice.id);
    if (orderId === undefined) throw new Error('no order kept');
    const key = newKey('pay');
    const charges = gateway.chargesMade();

    const paid = await payOrder(app, { protocol, token: alice.accessToken, orderId, headers: keyed(key) });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    const replay = await payOrder(app, { protocol, token: alice.accessToken, orderId, headers: keyed(key) });
    expect(replay.status, JSON.stringify(replay.body)).toBe(200);
    expect(replay.data).toEqual(paid.data);
    expect(replay.data.status).toBe('paid');
    expect(gateway.chargesMade()).toBe(charges + 1);
    expect((await paymentRowsOf(app, orderId)).map((row) => row.status)).toEqual(['declined', 'succeeded']);
    expect(await stockOf(app, productId)).toBe(3);

    const other = await payOrder(app, {
      protocol,
      token: alice.accessToken,
      orderId,
      paymentMethod: 'pm_card_mastercard',
      headers: keyed(key),
    });
    expectError(other, { status: 409, code: 'IDEMPOTENCY_KEY_REUSED' });
    const withoutKey = await payOrder(app, { protocol, token: alice.accessToken, orderId });
    expectError(withoutKey, { status: 409, code: 'INVALID_STATE_TRANSITION' });
    expect(gateway.chargesMade()).toBe(charges + 1);
  });
});

describe('runIdempotent', () => {
  const deps = () => ({ db: app.database.db, logger: app.logger, gateway, gatewayTimeoutMs: 5_000 });
  const scope = (key: string, request: unknown = { items: [1] }) => ({
    userId: alice.id,
    key,
    operation: 'orders.create' as const,
    request,
  });

  it('forgets the key after an unexpected failure, so a retry runs again', async () => {
    const key = newKey('crash');
    let runs = 0;
    const crash = runIdempotent(deps(), scope(key), {
      run: () => {
        runs += 1;
        return Promise.reject(new Error('connection reset'));
      },
      replay: () => Promise.resolve({ id: 'never' }),
    });
    await expect(crash).rejects.toThrow('connection reset');
    expect(await keyRow(alice, key)).toBeUndefined();

    const retried = await runIdempotent(deps(), scope(key), {
      run: () => {
        runs += 1;
        return Promise.resolve({ id: 'ord_RETRIED' });
      },
      replay: () => Promise.resolve({ id: 'replayed' }),
    });
    expect(retried).toEqual({ id: 'ord_RETRIED' });
    expect(runs).toBe(2);
  });

  it('keeps an AppError as the outcome and replays its code and message without running again', async () => {
    const key = newKey('refused');
    const refusal = new AppError('OUT_OF_STOCK', 'Not enough stock for product prd_X (asked for 3)', {
      context: { product_id: 'prd_X' },
    });
    await expect(
      runIdempotent(deps(), scope(key), {
        run: () => Promise.reject(refusal),
        replay: () => Promise.resolve({ id: 'x' }),
      }),
    ).rejects.toBe(refusal);

    let ran = false;
    const replayed = runIdempotent(deps(), scope(key), {
      run: () => {
        ran = true;
        return Promise.resolve({ id: 'ord_NEW' });
      },
      replay: () => Promise.resolve({ id: 'x' }),
    });
    await expect(replayed).rejects.toBeInstanceOf(AppError);
    await expect(replayed).rejects.toMatchObject({
      code: 'OUT_OF_STOCK',
      message: refusal.message,
      context: { replayed: true, order_id: null },
    });
    expect(ran).toBe(false);
  });

  it('makes a second request wait for the first one with its key, then replays its result', async () => {
    const key = newKey('slow');
    let finishFirst: () => void = () => undefined;
    const firstMayFinish = new Promise<void>((resolve) => {
      finishFirst = resolve;
    });
    let runs = 0;
    const first = runIdempotent(deps(), scope(key), {
      run: async () => {
        runs += 1;
        await firstMayFinish;
        return { id: 'ord_FIRST', from: 'run' };
      },
      replay: (orderId) => Promise.resolve({ id: orderId, from: 'replay' }),
    });
    await expect.poll(async () => (await keyRow(alice, key))?.state).toBe('in_progress');

    const second = runIdempotent(deps(), scope(key), {
      run: () => {
        runs += 1;
        return Promise.resolve({ id: 'ord_SECOND', from: 'run' });
      },
      replay: (orderId) => Promise.resolve({ id: orderId, from: 'replay' }),
    });
    const anotherRequest = runIdempotent(deps(), scope(key, { items: [2] }), {
      run: () => Promise.resolve({ id: 'ord_OTHER' }),
      replay: () => Promise.resolve({ id: 'x' }),
    });
    await expect(anotherRequest).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });

    await new Promise((resolve) => setTimeout(resolve, 150));
    finishFirst();
    expect(await first).toEqual({ id: 'ord_FIRST', from: 'run' });
    expect(await second).toEqual({ id: 'ord_FIRST', from: 'replay' });
    expect(runs).toBe(1);
  });

  it('takes over a claim left in progress by a request that died, and a key that has expired', async () => {
    const stale = newKey('stale');
    const expired = newKey('expired');
    await app.database.db
      .insertInto('idempotency_keys')
      .values([
        {
          user_id: alice.id,
          key: stale,
          operation: 'orders.create',
          fingerprint: 'whatever',
          state: 'in_progress',
          created_at: sql<Date>`now() - interval '6 minutes'`,
        },
        {
          user_id: alice.id,
          key: expired,
          operation: 'orders.pay',
          fingerprint: 'other',
          state: 'done',
          order_id: 'ord_OLD',
          created_at: sql<Date>`now() - interval '25 hours'`,
        },
      ])
      .execute();
    for (const key of [stale, expired]) {
      const result = await runIdempotent(deps(), scope(key), {
        run: () => Promise.resolve({ id: `ord_${key}` }),
        replay: () => Promise.resolve({ id: 'replayed' }),
      });
      expect(result).toEqual({ id: `ord_${key}` });
      expect(await keyRow(alice, key)).toMatchObject({
        state: 'done',
        order_id: `ord_${key}`,
        operation: 'orders.create',
      });
    }
  });

  it('answers a done key from less than a day ago with its first result, not a new run', async () => {
    const key = newKey('recent');
    await runIdempotent(deps(), scope(key), {
      run: () => Promise.resolve({ id: 'ord_FIRST' }),
      replay: () => Promise.resolve({ id: 'x' }),
    });
    await app.database.db
      .updateTable('idempotency_keys')
      .set({ created_at: sql<Date>`now() - interval '23 hours'` })
      .where('user_id', '=', alice.id)
      .where('key', '=', key)
      .execute();
    const again = await runIdempotent(deps(), scope(key), {
      run: () => Promise.resolve({ id: 'ord_SECOND' }),
      replay: (orderId) => Promise.resolve({ id: `replayed ${orderId}` }),
    });
    expect(again).toEqual({ id: 'replayed ord_FIRST' });
  });
});
