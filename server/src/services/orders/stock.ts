import { sql } from 'kysely';
import { AppError } from '../../core/errors.ts';
import type { Trx } from '../../core/db/transaction.ts';

export interface StockLine {
  productId: string;
  quantity: number;
}

/**
 * Takes stock for every line with a conditional update (`stock >= quantity`), in product id
 * order so two orders never wait on each other's rows. A line that cannot be served throws
 * OUT_OF_STOCK and the caller's transaction rolls back everything, earlier lines included.
 */
export async function reserveStock(trx: Trx, lines: StockLine[]): Promise<void> {
  for (const line of [...lines].sort((a, b) => compareProductIds(a.productId, b.productId))) {
    const taken = await trx
      .updateTable('products')
      .set({ stock: sql<number>`stock - ${line.quantity}`, updated_at: new Date() })
      .where('id', '=', line.productId)
      .where('stock', '>=', line.quantity)
      .returning('id')
      .executeTakeFirst();
    if (!taken) throw outOfStock(line);
  }
}

/** 409 OUT_OF_STOCK for the line that cannot be served. */
export function outOfStock(line: StockLine): AppError {
  return new AppError('OUT_OF_STOCK', `Not enough stock for product ${line.productId} (asked for ${line.quantity})`, {
    context: { product_id: line.productId, quantity: line.quantity },
  });
}

/** Gives reserved stock back (a failed payment, a cancellation, a refund). */
export async function releaseStock(trx: Trx, lines: StockLine[]): Promise<void> {
  for (const line of [...lines].sort((a, b) => compareProductIds(a.productId, b.productId))) {
    await trx
      .updateTable('products')
      .set({ stock: sql<number>`stock + ${line.quantity}`, updated_at: new Date() })
      .where('id', '=', line.productId)
      .execute();
  }
}

export async function linesOf(trx: Trx, orderId: string): Promise<StockLine[]> {
  const items = await trx
    .selectFrom('order_items')
    .select(['product_id', 'quantity'])
    .where('order_id', '=', orderId)
    .execute();
  return items.map((item) => ({ productId: item.product_id, quantity: item.quantity }));
}

/**
 * Product ids in the order PostgreSQL sorts them here (byte order: the ids are ASCII letters,
 * digits and `_`), the order every statement takes their row locks in.
 */
export function compareProductIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
