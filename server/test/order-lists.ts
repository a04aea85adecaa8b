import { OrderCursorPageSchema, OrderPageSchema, type Order } from '@orders/shared';
import { expect } from 'vitest';
import { PROTOCOLS, type TestUser } from './api-client.ts';
import { listOrders } from './orders-api.ts';
import type { TestApp } from './test-app.ts';

const PAGE_LIMIT = 100;

/** Every order `user` sees through v1.orders.list (offset paging), each page checked against OrderPageSchema. */
async function walkV1(app: TestApp, { user, protocol }: { user: TestUser; protocol: 'rest' | 'trpc' }) {
  const seen: Order[] = [];
  for (let offset = 0; ; offset += PAGE_LIMIT) {
    const res = await listOrders(app, { protocol, token: user.accessToken, input: { limit: PAGE_LIMIT, offset } });
    expect(res.status, `v1 ${protocol} ${JSON.stringify(res.body)}`).toBe(200);
    const page = OrderPageSchema.parse(res.data);
    seen.push(...page.items);
    if (page.items.length < PAGE_LIMIT) return seen;
  }
}

/** Every order `user` sees through v2.orders.list (keyset paging), each page checked against OrderCursorPageSchema. */
async function walkV2(app: TestApp, { user, protocol }: { user: TestUser; protocol: 'rest' | 'trpc' }) {
  const seen: Order[] = [];
  let cursor: string | null = null;
  do {
    const input: Record<string, unknown> = { limit: PAGE_LIMIT, ...(cursor === null ? {} : { cursor }) };
    const res = await listOrders(app, { protocol, version: 'v2', token: user.accessToken, input });
    expect(res.status, `v2 ${protocol} ${JSON.stringify(res.body)}`).toBe(200);
    const page = OrderCursorPageSchema.parse(res.data);
    seen.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return seen;
}

/**
 * Lists every order each of `users` may see, through v1 and v2 and over both protocols, and
 * asserts each page answers 200 and matches its output schema; returns the ids each user saw
 * (the same through every list, or the assertion fails).
 */
export async function expectOrderListsValid(app: TestApp, users: TestUser[]): Promise<Map<TestUser, string[]>> {
  const idsByUser = new Map<TestUser, string[]>();
  for (const user of users) {
    const lists: string[][] = [];
    for (const protocol of PROTOCOLS) {
      lists.push((await walkV1(app, { user, protocol })).map((order) => order.id).sort());
      lists.push((await walkV2(app, { user, protocol })).map((order) => order.id).sort());
    }
    const [first = [], ...others] = lists;
    for (const other of others) expect(other).toEqual(first);
    idsByUser.set(user, first);
  }
  return idsByUser;
}
