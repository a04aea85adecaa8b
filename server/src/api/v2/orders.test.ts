import type { Order } from '@orders/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOLS, expectError, registerUser, type Protocol, type TestUser } from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { createOrder, listOrders, orderIdsOf } from '../../../test/orders-api.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { newId } from '../../core/ids.ts';
import type { OrderStatus } from '../../models/index.ts';

interface CursorPage {
  items: Order[];
  nextCursor: string | null;
}

const {
  app,
  secrets,
  users: { walker, other, admin },
} = useTestApp({
  env: { RATE_LIMIT_PER_IP: '10000' },
  logQueries: false,
  users: { walker: 'customer', other: 'customer', admin: 'admin' },
});
let mug: string;
let cap: string;
/** Each seeded order of the walker's and the lines it was given, as `productId x quantity`. */
const seeded = new Map<string, string[]>();

const SEEDED_ORDERS = 250;

/**
 * Inserts orders straight into the database, for speed. `createdAt` is exact text, so orders can
 * share a timestamp or differ by a microsecond; without it they get the database's now().
 */
async function insertOrders(
  user: TestUser,
  orders: { createdAt?: string; status?: OrderStatus; lines: { productId: string; quantity: number }[] }[],
): Promise<string[]> {
  const rows = orders.map((order) => ({
    id: newId('ord'),
    user_id: user.id,
    status: order.status ?? 'paid',
    currency: 'EUR',
    total_amount: order.lines.reduce((sum, line) => sum + line.quantity * 100, 0),
    ...(order.createdAt === undefined ? {} : { created_at: order.createdAt, updated_at: order.createdAt }),
  }));
  await app.database.db.insertInto('orders').values(rows).execute();
  const items = orders.flatMap((order, index) =>
    order.lines.map((line) => ({
      order_id: rows[index]?.id ?? '',
      product_id: line.productId,
      product_name: line.productId === mug ? 'Walker mug' : 'Walker cap',
      quantity: line.quantity,
      unit_price_amount: 100,
      line_total_amount: line.quantity * 100,
    })),
  );
  await app.database.db.insertInto('order_items').values(items).execute();
  return rows.map((row) => row.id);
}

/** A timestamp in 2020 (older than any order the API makes) `micros` microseconds after a fixed instant. */
const micro = (micros: number) => `2020-01-01T00:00:00.${String(micros).padStart(6, '0')}Z`;

beforeAll(async () => {
  [mug = '', cap = ''] = await insertProducts(app.database.db, [
    { name: 'Walker mug', stock: 1000 },
    { name: 'Walker cap', stock: 1000 },
  ]);

  // All 250 orders fall within one millisecond, three to a microsecond: only a cursor that keeps
  // microseconds and breaks ties on id can walk them without skipping or repeating one.
  const orders = Array.from({ length: SEEDED_ORDERS }, (_, index) => ({
    createdAt: micro(Math.floor(index / 3)),
    status: index % 5 === 0 ? ('cancelled' as const) : ('paid' as const),
    lines:
      index % 2 === 0
        ? [
            { productId: mug, quantity: 1 + (index % 3) },
            { productId: cap, quantity: 1 },
          ]
        : [{ productId: cap, quantity: 2 }],
  }));
  const ids = await insertOrders(walker, orders);
  ids.forEach((id, index) =>
    seeded.set(id, (orders[index]?.lines ?? []).map((line) => `${line.productId} x ${line.quantity}`).sort()),
  );
  await insertOrders(other, [
    { createdAt: micro(40), lines: [{ productId: mug, quantity: 1 }] },
    { lines: [{ productId: cap, quantity: 1 }] },
  ]);
});

const listV2 = (protocol: Protocol, user: TestUser | undefined, input: Record<string, unknown> = {}) =>
  listOrders<CursorPage>(app, { protocol, version: 'v2', token: user?.accessToken, input });

/** Follows nextCursor to the end, calling `between` after each page but the last. */
async function walk(
  protocol: Protocol,
  user: TestUser,
  { input = {}, between }: { input?: Record<string, unknown>; between?: (pageIndex: number) => Promise<void> } = {},
): Promise<CursorPage[]> {
  const pages: CursorPage[] = [];
  let cursor: string | undefined;
  for (;;) {
    const res = await listV2(protocol, user, { ...input, ...(cursor === undefined ? {} : { cursor }) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    pages.push(res.data);
    if (res.data.nextCursor === null) return pages;
    if (pages.length > 50) throw new Error('the walk does not end');
    cursor = res.data.nextCursor;
    await between?.(pages.length - 1);
  }
}

const idsOf = (pages: CursorPage[]) => pages.flatMap((page) => page.items.map((order) => order.id));

describe.each(PROTOCOLS)('v2.orders.list keyset paging over %s', (protocol) => {
  it('walks every order in pages of 100, newest first, with no duplicate and no gap while new orders arrive', async () => {
    const atStart = await orderIdsOf(app, walker.id);
    expect(atStart.length).toBeGreaterThanOrEqual(SEEDED_ORDERS);
    const arrived: string[] = [];

    const pages = await walk(protocol, walker, {
      input: { limit: 100 },
      between: async (pageIndex) => {
        arrived.push(
          ...(await insertOrders(walker, [
            { lines: [{ productId: mug, quantity: 1 }] },
            { lines: [{ productId: cap, quantity: 1 }] },
          ])),
        );
        if (pageIndex === 1) {
          const created = await createOrder(app, {
            protocol,
            token: walker.accessToken,
            items: [{ productId: mug, quantity: 1 }],
          });
          expect(created.status, JSON.stringify(created.body)).toBe(200);
          arrived.push(created.data.id);
        }
      },
    });

    const ids = idsOf(pages);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(atStart);
    expect(ids.filter((id) => seeded.has(id))).toHaveLength(SEEDED_ORDERS);
    expect(arrived).toHaveLength(5);
    expect(ids.filter((id) => arrived.includes(id))).toEqual([]);

    expect(pages.length).toBe(Math.ceil(atStart.length / 100));
    expect(pages.slice(0, -1).every((page) => page.items.length === 100 && page.nextCursor !== null)).toBe(true);
    expect(pages.at(-1)?.items.length).toBe(atStart.length % 100 || 100);
    expect(pages.at(-1)?.nextCursor).toBeNull();

    const fresh = await listV2(protocol, walker, { limit: arrived.length });
    expect(fresh.data.items.map((order) => order.id).sort()).toEqual([...arrived].sort());
  });

  it('gives every order its lines and its owner', async () => {
    const pages = await walk(protocol, walker, { input: { limit: 100 } });
    const orders = pages.flatMap((page) => page.items).filter((order) => seeded.has(order.id));
    expect(orders).toHaveLength(SEEDED_ORDERS);
    for (const order of orders) {
      expect(order.userId).toBe(walker.id);
      expect(order.items.map((line) => `${line.productId} x ${line.quantity}`).sort()).toEqual(seeded.get(order.id));
      for (const line of order.items) {
        expect(line.productName).toBe(line.productId === mug ? 'Walker mug' : 'Walker cap');
        expect(line.lineTotal).toEqual({ amount: line.quantity * 100, currency: 'EUR' });
      }
    }
  });

  it('pages within a status filter', async () => {
    const pages = await walk(protocol, walker, { input: { limit: 20, status: 'cancelled' } });
    const ids = idsOf(pages);
    expect(ids).toHaveLength(SEEDED_ORDERS / 5);
    expect(new Set(ids).size).toBe(ids.length);
    expect(pages.flatMap((page) => page.items).every((order) => order.status === 'cancelled')).toBe(true);
    expect(ids).toEqual((await orderIdsOf(app, walker.id)).filter((id) => ids.includes(id)));
  });

  it('answers nextCursor null on a last page that is exactly full, and on a single page', async () => {
    const even = await registerUser(app, { secrets, label: `even-${protocol}` });
    const ids = await insertOrders(
      even,
      [0, 0, 1, 2].map((micros) => ({ createdAt: micro(micros), lines: [{ productId: mug, quantity: 1 }] })),
    );
    const pages = await walk(protocol, even, { input: { limit: 2 } });
    expect(pages.map((page) => page.items.length)).toEqual([2, 2]);
    expect(pages[0]?.nextCursor).toEqual(expect.any(String));
    expect(pages[1]?.nextCursor).toBeNull();
    expect(new Set(idsOf(pages))).toEqual(new Set(ids));

    const whole = await listV2(protocol, even, { limit: 4 });
    expect(whole.data.items).toHaveLength(4);
    expect(whole.data.nextCursor).toBeNull();
    const byDefault = await listV2(protocol, even);
    expect(byDefault.data.items).toHaveLength(4);
    expect(byDefault.data.nextCursor).toBeNull();

    const nobody = await registerUser(app, { secrets, label: `nobody-${protocol}` });
    expect((await listV2(protocol, nobody)).data).toEqual({ items: [], nextCursor: null });
  });

  it('refuses a tampered or made-up cursor with 400 INVALID_CURSOR', async () => {
    const first = await listV2(protocol, walker, { limit: 5 });
    const cursor = first.data.nextCursor;
    if (cursor === null) throw new Error('expected a next page');
    const [payload = '', signature = ''] = cursor.split('.');
    const flip = (text: string, at: number) =>
      `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
    const forgedPayload = Buffer.from(JSON.stringify(['2100-01-01 00:00:00+00', 'ord_ZZZZ'])).toString('base64url');

    const tampered = [
      `${flip(payload, 3)}.${signature}`,
      `${payload}.${flip(signature, 0)}`,
      `${forgedPayload}.${signature}`,
      payload,
      `${payload}.`,
      `${cursor}.x`,
      'not-a-cursor',
    ];
    for (const bad of tampered) {
      const res = await listV2(protocol, walker, { limit: 5, cursor: bad });
      expectError(res, { status: 400, code: 'INVALID_CURSOR' });
    }
    expectError(await listV2(protocol, walker, { cursor: 'x'.repeat(513) }), {
      status: 400,
      code: 'VALIDATION_FAILED',
    });

    const next = await listV2(protocol, walker, { limit: 5, cursor });
    expect(next.status).toBe(200);
    expect(next.data.items).toHaveLength(5);
  });

  it("shows a customer their own orders only; an admin everyone's, or one user's with userId", async () => {
    const snooping = await walk(protocol, other, { input: { limit: 100, userId: walker.id } });
    expect(idsOf(snooping)).toEqual(await orderIdsOf(app, other.id));
    expect(idsOf(snooping)).toHaveLength(2);

    const everyone = await walk(protocol, admin, { input: { limit: 100 } });
    const all = idsOf(everyone);
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(everyone.flatMap((page) => page.items.map((order) => order.userId)))).toEqual(
      new Set(
        (await app.database.db.selectFrom('orders').select('user_id').distinct().execute()).map((row) => row.user_id),
      ),
    );
    const filtered = await walk(protocol, admin, { input: { limit: 100, userId: other.id } });
    expect(idsOf(filtered)).toEqual(await orderIdsOf(app, other.id));
  });

  it('refuses a limit over 100, an unknown key, and an anonymous caller', async () => {
    expectError(await listV2(protocol, walker, { limit: 101 }), { status: 400, code: 'VALIDATION_FAILED' });
    expectError(await listV2(protocol, walker, { offset: 10 }), { status: 400, code: 'VALIDATION_FAILED' });
    expectError(await listV2(protocol, undefined), { status: 401, code: 'UNAUTHORIZED', reason: 'Missing Header' });
  });
});

describe('/openapi.json', () => {
  it('marks v1 orders.list deprecated, and v2 orders.list not', async () => {
    const res = await fetch(`${app.url}/openapi.json`);
    expect(res.status).toBe(200);
    const document = (await res.json()) as {
      paths: Record<string, Record<string, { deprecated?: boolean; operationId?: string }>>;
    };
    expect(document.paths['/v1/orders']?.get?.deprecated).toBe(true);
    expect(document.paths['/v2/orders']?.get?.deprecated).toBeUndefined();
    expect(document.paths['/v1/orders/{orderId}']?.get?.deprecated).toBeUndefined();
  });
});
