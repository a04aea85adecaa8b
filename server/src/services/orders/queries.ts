import type { ListOrdersInput, ListOrdersV2Input, Order, Page, Payment } from '@orders/shared';
import { sql } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Db } from '../../core/db/database.ts';
import { AppError } from '../../core/errors.ts';
import { preparedQuery } from '../../core/db/prepared-query.ts';
import type { OrderRow } from '../../models/index.ts';
import { countAsTotal, offsetPage } from '../paging.ts';
import type { Actor } from './deps.ts';
import { ITEM_COLUMNS, ORDER_COLUMNS, toOrder, toPayment, withLines } from './mappers.ts';
import type { OrderCursor } from './cursor.ts';

export function orderNotFound(orderId: string): AppError {
  return new AppError('ORDER_NOT_FOUND', `No order with id ${orderId}`, { context: { order_id: orderId } });
}

/**
 * The order as the actor may see it: an owner their own, an admin any. Someone else's
 * order is NOT_FOUND, never FORBIDDEN, so ids of other people's orders reveal nothing.
 */
export async function findVisibleOrder(
  db: Db,
  { orderId, actor }: { orderId: string; actor: Actor },
): Promise<OrderRow> {
  let query = db.selectFrom('orders').select(ORDER_COLUMNS).where('id', '=', orderId);
  if (actor.role !== 'admin') query = query.where('user_id', '=', actor.id);
  const row = await query.executeTakeFirst();
  if (!row) throw orderNotFound(orderId);
  return row;
}

/** An order's lines, in one JSON column of the order's row (`jsonArrayFrom`): one query, not two. */
function withItems(db: Db) {
  return db
    .selectFrom('orders')
    .select(ORDER_COLUMNS)
    .select((eb) =>
      jsonArrayFrom(
        eb
          .selectFrom('order_items')
          .select(ITEM_COLUMNS)
          .whereRef('order_items.order_id', '=', 'orders.id')
          .orderBy('product_id'),
      ).as('items'),
    );
}

// `v1.orders.get` is the hottest authenticated read: its query is compiled once.
const orderById = preparedQuery((db, orderId: string) => withItems(db).where('id', '=', orderId), ':orderId');
const ownOrderById = preparedQuery(
  (db, orderId: string, userId: string) => withItems(db).where('id', '=', orderId).where('user_id', '=', userId),
  ':orderId',
  ':userId',
);

/**
 * One order with its lines, if the actor may see it, in one query: the lines come as a JSON
 * array of the order's row (their columns are integers and text, which JSON keeps as they are).
 */
export async function getOrder(db: Db, { orderId, actor }: { orderId: string; actor: Actor }): Promise<Order> {
  const [row] = await (actor.role === 'admin' ? orderById(db, orderId) : ownOrderById(db, orderId, actor.id));
  if (!row) throw orderNotFound(orderId);
  return toOrder(row, row.items);
}

/** Customers always see their own orders; an admin sees all, or one user's with `userId`. */
function ownerFilter(actor: Actor, userId: string | undefined): string | undefined {
  return actor.role === 'admin' ? userId : actor.id;
}

export async function listOrders(
  db: Db,
  { actor, ...input }: ListOrdersInput & { actor: Actor },
): Promise<Page<Order>> {
  let query = db.selectFrom('orders');
  const owner = ownerFilter(actor, input.userId);
  if (owner !== undefined) query = query.where('user_id', '=', owner);
  if (input.status !== undefined) query = query.where('status', '=', input.status);
  return offsetPage({
    rows: query
      .select(ORDER_COLUMNS)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(input.limit)
      .offset(input.offset)
      .execute(),
    count: query.select(countAsTotal).executeTakeFirstOrThrow(),
    window: input,
    map: (rows) => withLines(db, rows),
  });
}

/**
 * Keyset paging on (created_at, id), newest first: a page starts strictly after the last row
 * of the previous one, so orders created meanwhile cause no duplicate and no gap.
 */
export async function listOrdersAfter(
  db: Db,
  { actor, cursor, ...input }: Omit<ListOrdersV2Input, 'cursor'> & { actor: Actor; cursor: OrderCursor | undefined },
): Promise<{ items: Order[]; last: { createdAt: string; id: string } | undefined; hasMore: boolean }> {
  let query = db.selectFrom('orders').select([...ORDER_COLUMNS, sql<string>`created_at::text`.as('created_at_exact')]);
  const owner = ownerFilter(actor, input.userId);
  if (owner !== undefined) query = query.where('user_id', '=', owner);
  if (input.status !== undefined) query = query.where('status', '=', input.status);
  if (cursor) {
    query = query.where(sql<boolean>`(created_at, id) < (${cursor.createdAt}::timestamptz, ${cursor.id})`);
  }
  const rows = await query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(input.limit + 1)
    .execute();
  const page = rows.slice(0, input.limit);
  const lastRow = page.at(-1);
  return {
    items: await withLines(db, page),
    last: lastRow ? { createdAt: lastRow.created_at_exact, id: lastRow.id } : undefined,
    hasMore: rows.length > input.limit,
  };
}

export async function listPayments(db: Db, input: { orderId: string; actor: Actor }): Promise<{ items: Payment[] }> {
  await findVisibleOrder(db, input);
  const rows = await db
    .selectFrom('payments')
    .selectAll()
    .where('order_id', '=', input.orderId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return { items: rows.map(toPayment) };
}
