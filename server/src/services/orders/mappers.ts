import type { Order, Payment } from '@orders/shared';
import type { Db } from '../../core/db/database.ts';
import type { Trx } from '../../core/db/transaction.ts';
import type { OrderItemRow, OrderRow, PaymentRow } from '../../models/index.ts';

export const ORDER_COLUMNS = [
  'id',
  'user_id',
  'status',
  'currency',
  'total_amount',
  'created_at',
  'updated_at',
] as const;

/** The columns of a line that an order shows. */
export const ITEM_COLUMNS = [
  'product_id',
  'product_name',
  'quantity',
  'unit_price_amount',
  'line_total_amount',
] as const;
export type OrderItem = Pick<OrderItemRow, (typeof ITEM_COLUMNS)[number]>;

export function toOrder(row: OrderRow, items: OrderItem[]): Order {
  const money = (amount: number) => ({ amount, currency: row.currency });
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    total: money(row.total_amount),
    items: items.map((item) => ({
      productId: item.product_id,
      productName: item.product_name,
      quantity: item.quantity,
      unitPrice: money(item.unit_price_amount),
      lineTotal: money(item.line_total_amount),
    })),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toPayment(row: PaymentRow): Payment {
  return {
    id: row.id,
    orderId: row.order_id,
    amount: { amount: row.amount, currency: row.currency },
    status: row.status,
    gateway: row.gateway,
    gatewayReference: row.gateway_reference,
    paymentMethod: row.payment_method,
    declineCode: row.decline_code,
    failureReason: row.failure_reason,
    refundedAt: row.refunded_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

/** The orders with their lines, in the order given, with one query for all the lines. */
export async function withLines(db: Db | Trx, rows: OrderRow[]): Promise<Order[]> {
  if (rows.length === 0) return [];
  const items = await db
    .selectFrom('order_items')
    .selectAll()
    .where(
      'order_id',
      'in',
      rows.map((row) => row.id),
    )
    .orderBy('product_id')
    .execute();
  const byOrder = new Map<string, OrderItemRow[]>();
  for (const item of items) byOrder.set(item.order_id, [...(byOrder.get(item.order_id) ?? []), item]);
  return rows.map((row) => toOrder(row, byOrder.get(row.id) ?? []));
}
