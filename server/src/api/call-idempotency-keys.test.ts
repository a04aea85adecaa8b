import type { Order } from '@orders/shared';
import { describe, expect, it } from 'vitest';
import { expectError } from '../../test/api-client.ts';
import { useTestApp } from '../../test/fixture.ts';
import { createOrder, orderIdsOf } from '../../test/orders-api.ts';
import { insertProducts } from '../../test/seed-products.ts';

/**
 * Per-call idempotency on tRPC: a batch gives each call its own key in `Idempotency-Keys`, so two
 * orders placed in one batch never become one; a single Idempotency-Key over several mutations
 * of a batch is refused before anything runs. REST keeps Idempotency-Key.
 */
interface BatchAnswer {
  status: number;
  calls: { result?: { data: Order }; error?: { data: { code: string; message: string; httpStatus: number } } }[];
}

describe.each(['native', 'official'] as const)('Idempotency-Keys over tRPC (%s adapter)', (adapter) => {
  const {
    app,
    users: { alice },
  } = useTestApp({ env: { RATE_LIMIT_PER_IP: '10000', HTTP_ADAPTER: adapter }, users: { alice: 'customer' } });

  async function product(): Promise<string> {
    const [id] = await insertProducts(app.database.db, [{ price_amount: 300, stock: 50 }]);
    if (id === undefined) throw new Error('no product inserted');
    return id;
  }

  /** `count` orders.create calls of the same input, in one batch, with the headers given. */
  async function createBatch(productId: string, count: number, headers: Record<string, string>): Promise<BatchAnswer> {
    const input = { items: [{ productId, quantity: 1 }], paymentMethod: 'pm_card_visa' };
    const paths = Array.from({ length: count }, () => 'v1.orders.create').join(',');
    const res = await fetch(`${app.url}/trpc/${paths}?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.accessToken}`, ...headers },
      body: JSON.stringify(Object.fromEntries(Array.from({ length: count }, (_, index) => [index, input]))),
    });
    return { status: res.status, calls: (await res.json()) as BatchAnswer['calls'] };
  }

  function orderIds(answer: BatchAnswer): string[] {
    return answer.calls.map((call) => {
      if (!call.result) throw new Error(`call failed: ${JSON.stringify(call.error)}`);
      return call.result.data.id;
    });
  }

  it('gives two keyed creates of one batch two orders, and a replay of one key its own order', async () => {
    const productId = await product();
    const before = await orderIdsOf(app, alice.id);
    const keys = { 0: `${adapter}-checkout-a`, 1: `${adapter}-checkout-b` };
    const first = await createBatch(productId, 2, { 'idempotency-keys': JSON.stringify(keys) });
    expect(first.status).toBe(200);
    const [a, b] = orderIds(first);
    expect(a).not.toBe(b);
    const added = (await orderIdsOf(app, alice.id)).filter((id) => !before.includes(id));
    expect(added.sort()).toEqual([a, b].sort());

    // The second key alone, as the first call of another batch: the same order, nothing new.
    const replay = await createBatch(productId, 1, { 'idempotency-keys': JSON.stringify({ 0: keys[1] }) });
    expect(orderIds(replay)).toEqual([b]);
    // A key given per call is the same key as the Idempotency-Key header of a single call.
    const single = await createOrder(app, {
      protocol: 'trpc',
      token: alice.accessToken,
      items: [{ productId, quantity: 1 }],
      headers: { 'idempotency-key': keys[0] },
    });
    expect(single.data.id).toBe(a);
    expect((await orderIdsOf(app, alice.id)).length).toBe(before.length + 2);
  });

  it('leaves a call without its own key unkeyed', async () => {
    const productId = await product();
    const key = `${adapter}-only-second`;
    const first = await createBatch(productId, 2, { 'idempotency-keys': JSON.stringify({ 1: key }) });
    const again = await createBatch(productId, 2, { 'idempotency-keys': JSON.stringify({ 1: key }) });
    const [unkeyed1, keyed1] = orderIds(first);
    const [unkeyed2, keyed2] = orderIds(again);
    expect(keyed2).toBe(keyed1);
    expect(unkeyed2).not.toBe(unkeyed1);
  });

  it.each([
    ['one Idempotency-Key over two creates', { 'idempotency-key': 'shared-by-two' }, 'apply to 2 mutations'],
    ['two calls with the same key', { 'idempotency-keys': '{"0":"same","1":"same"}' }, 'the same key'],
    ['both headers', { 'idempotency-key': 'k', 'idempotency-keys': '{"0":"a","1":"b"}' }, 'not both'],
    ['a key for a call the batch lacks', { 'idempotency-keys': '{"0":"a","2":"b"}' }, 'names call 2'],
    ['not JSON', { 'idempotency-keys': '{"0":' }, 'JSON object'],
    ['not a call index', { 'idempotency-keys': '{"first":"a"}' }, 'call indexes'],
    ['a key the pattern refuses', { 'idempotency-keys': '{"0":"has space"}' }, 'visible ASCII'],
  ])('refuses %s with 400 on every call and changes nothing', async (_name, headers, says) => {
    const productId = await product();
    const before = await orderIdsOf(app, alice.id);
    const answer = await createBatch(productId, 2, headers);
    expect(answer.status).toBe(400);
    for (const call of answer.calls) {
      expect(call.error?.data).toMatchObject({ code: 'INVALID_IDEMPOTENCY_KEY', httpStatus: 400 });
      expect(call.error?.data.message).toContain(says);
    }
    expect(await orderIdsOf(app, alice.id)).toEqual(before);
  });

  it('still takes one Idempotency-Key for a batch of one mutation', async () => {
    const productId = await product();
    const key = `${adapter}-single-in-batch`;
    const [first] = orderIds(await createBatch(productId, 1, { 'idempotency-key': key }));
    const [again] = orderIds(await createBatch(productId, 1, { 'idempotency-key': key }));
    expect(again).toBe(first);
  });
});

describe.each(['native', 'official'] as const)('Idempotency-Keys over REST (%s adapter)', (adapter) => {
  const {
    app,
    users: { bob },
  } = useTestApp({ env: { RATE_LIMIT_PER_IP: '10000', HTTP_ADAPTER: adapter }, users: { bob: 'customer' } });

  it('is refused with 400 (REST takes Idempotency-Key), changing nothing', async () => {
    const [productId] = await insertProducts(app.database.db, [{ price_amount: 300, stock: 5 }]);
    const res = await createOrder(app, {
      protocol: 'rest',
      token: bob.accessToken,
      items: [{ productId: productId ?? '', quantity: 1 }],
      headers: { 'idempotency-keys': '{"0":"rest-key"}' },
    });
    expect(expectError(res, { status: 400, code: 'INVALID_IDEMPOTENCY_KEY' }).message).toContain('Idempotency-Key');
    expect(await orderIdsOf(app, bob.id)).toEqual([]);
  });
});
