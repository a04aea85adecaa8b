import { MAX_MONEY_AMOUNT, type CreateOrderInput, type Order } from '@orders/shared';
import { AppError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { withTransaction } from '../../core/db/transaction.ts';
import { chargeAndRecord } from './charge.ts';
import { beginAttempt } from './payment-attempt.ts';
import type { OrdersDeps } from './deps.ts';
import type { KeyClaim } from './idempotency-claim.ts';
import { linkOrderToIdempotencyKey } from './idempotency-record.ts';
import { withIdempotencyKey } from './idempotency.ts';
import { ORDER_COLUMNS } from './mappers.ts';
import { INITIAL_STATUS } from './state-machine.ts';
import { reserveStock } from './stock.ts';

interface PricedProduct {
  id: string;
  name: string;
  price_amount: number;
}

/** The order's lines at the products' current prices. */
function priceLines(items: CreateOrderInput['items'], byId: Map<string, PricedProduct>) {
  return items.map((item) => {
    const product = byId.get(item.productId);
    if (!product) throw new Error(`product ${item.productId} disappeared`);
    return {
      product_id: product.id,
      product_name: product.name,
      quantity: item.quantity,
      unit_price_amount: product.price_amount,
      line_total_amount: product.price_amount * item.quantity,
    };
  });
}

/**
 * The order's total, refused with 422 ORDER_TOTAL_TOO_LARGE over MAX_MONEY_AMOUNT, before any
 * stock is taken or any card charged: an order past it could be neither stored nor answered.
 * Amounts are non-negative, so no line total can pass a total that is within the limit; every
 * figure stays a safe integer (50 lines x 1000 x MAX_MONEY_AMOUNT is far below 2^53).
 */
function totalWithinLimit(lines: { line_total_amount: number }[], currency: string): number {
  const total = lines.reduce((sum, line) => sum + line.line_total_amount, 0);
  if (total > MAX_MONEY_AMOUNT) {
    const amount = (value: number) => value.toLocaleString('en-US');
    throw new AppError(
      'ORDER_TOTAL_TOO_LARGE',
      `The order total of ${amount(total)} minor units (${currency}) is over the largest order total of ${amount(MAX_MONEY_AMOUNT)} minor units; split it into smaller orders`,
      { context: { total, currency, max: MAX_MONEY_AMOUNT } },
    );
  }
  return total;
}

/**
 * Creates an order and charges it at once, under the request's Idempotency-Key when it has
 * one (a retry with the key answers the first outcome and charges once). One transaction
 * reserves the stock and writes the order and its lines, or nothing at all; the gateway is
 * called after it commits, so no transaction stays open across the network; a second
 * transaction records the outcome.
 */
export function createOrder(
  deps: OrdersDeps,
  { idempotencyKey, ...input }: CreateOrderInput & { userId: string; idempotencyKey?: string | undefined },
): Promise<Order> {
  const { userId, ...request } = input;
  return withIdempotencyKey(deps, { userId, idempotencyKey, operation: 'orders.create', request }, (keyClaim) =>
    placeOrder(deps, input, keyClaim),
  );
}

async function placeOrder(
  deps: OrdersDeps,
  input: CreateOrderInput & { userId: string },
  keyClaim: KeyClaim | undefined,
): Promise<Order> {
  const productIds = input.items.map((item) => item.productId);
  const order = await withTransaction(deps, 'create_order', async (trx) => {
    const products = await trx
      .selectFrom('products')
      .select(['id', 'name', 'price_amount', 'currency'])
      .where('id', 'in', productIds)
      .where('active', '=', true)
      .execute();
    const byId = new Map(products.map((product) => [product.id, product]));
    const missing = productIds.find((id) => !byId.has(id));
    if (missing !== undefined) {
      throw new AppError('PRODUCT_NOT_FOUND', `No product with id ${missing}`, { context: { product_id: missing } });
    }
    const currencies = [...new Set(products.map((product) => product.currency))];
    const currency = currencies[0] ?? 'EUR';
    if (currencies.length > 1) {
      throw new AppError(
        'CURRENCY_MISMATCH',
        `An order is paid in one currency; these products are priced in ${currencies.join(' and ')}`,
        {
          context: { currencies },
        },
      );
    }

    const lines = priceLines(input.items, byId);
    const total = totalWithinLimit(lines, currency);
    await reserveStock(trx, input.items);
    const row = await trx
      .insertInto('orders')
      .values({ id: newId('ord'), user_id: input.userId, status: INITIAL_STATUS, currency, total_amount: total })
      .returning(ORDER_COLUMNS)
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('order_items')
      .values(lines.map((line) => ({ ...line, order_id: row.id })))
      .execute();
    await linkOrderToIdempotencyKey(trx, row.id, keyClaim);
    const pending = await beginAttempt(trx, {
      order: row,
      paymentMethod: input.paymentMethod,
      gateway: deps.gateway.name,
    });
    return { ...row, pending };
  });
  deps.logger.info('order_created', {
    context: { order_id: order.id, total: order.total_amount, currency: order.currency, lines: input.items.length },
  });
  const { pending, ...row } = order;
  return chargeAndRecord(deps, { order: row, paymentMethod: input.paymentMethod, pending });
}
