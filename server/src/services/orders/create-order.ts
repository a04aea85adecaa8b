import { MAX_MONEY_AMOUNT, type CreateOrderInput, type Order } from '@orders/shared';
import { AppError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { isCheckViolation } from '../../core/db/database-errors.ts';
import { withOneStatement } from '../../core/db/transaction.ts';
import { chargeAndRecord } from './charge.ts';
import type { OrdersDeps } from './deps.ts';
import type { KeyClaim } from './idempotency-claim.ts';
import { keyTakenOver } from './idempotency-record.ts';
import { KeyNotNew, withIdempotencyKey } from './idempotency.ts';
import { placeOrderRow, type LockedProduct } from './place-order.ts';
import { compareProductIds, outOfStock } from './stock.ts';

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
 * 422 ORDER_TOTAL_TOO_LARGE for a total over MAX_MONEY_AMOUNT (such an order is never placed, so
 * no stock is taken and no card charged): an order past it could be neither stored nor answered.
 * Amounts are non-negative, so no line total can pass a total that is within the limit; every
 * figure stays a safe integer (50 lines x 1000 x MAX_MONEY_AMOUNT is far below 2^53).
 */
function totalOverLimit(lines: { line_total_amount: number }[], currency: string): AppError | undefined {
  const total = lines.reduce((sum, line) => sum + line.line_total_amount, 0);
  if (total > MAX_MONEY_AMOUNT) {
    const amount = (value: number) => value.toLocaleString('en-US');
    return new AppError(
      'ORDER_TOTAL_TOO_LARGE',
      `The order total of ${amount(total)} minor units (${currency}) is over the largest order total of ${amount(MAX_MONEY_AMOUNT)} minor units; split it into smaller orders`,
      { context: { total, currency, max: MAX_MONEY_AMOUNT } },
    );
  }
  return undefined;
}

/**
 * Creates an order and charges it at once, under the request's Idempotency-Key when it has
 * one (a retry with the key answers the first outcome and charges once). One transaction of
 * one statement reserves the stock and writes the order, its lines and its pending payment
 * attempt, or nothing at all; the gateway is called after it commits, so no transaction stays
 * open across the network; a second transaction records the outcome.
 */
export function createOrder(
  deps: OrdersDeps,
  { idempotencyKey, ...input }: CreateOrderInput & { userId: string; idempotencyKey?: string | undefined },
): Promise<Order> {
  const { userId, ...request } = input;
  return withIdempotencyKey(
    deps,
    { userId, idempotencyKey, operation: 'orders.create', request },
    { place: (keyClaim) => placeOrder(deps, input, keyClaim), claimsNewKey: true },
  );
}

async function placeOrder(
  deps: OrdersDeps,
  input: CreateOrderInput & { userId: string },
  keyClaim: KeyClaim | undefined,
): Promise<Order> {
  const placement = {
    orderId: newId('ord'),
    paymentId: newId('pay'),
    userId: input.userId,
    items: input.items,
    paymentMethod: input.paymentMethod,
    gateway: deps.gateway.name,
    keyClaim,
  };
  const placed = await withOneStatement(deps, 'create_order', async (db) => {
    // The stock's CHECK (stock >= 0) is the last word on overselling: should it refuse the
    // statement (which then wrote nothing), a second run, on a fresh snapshot, sees the stock
    // that another order took meanwhile and refuses the line as out of stock.
    const result = await placeOrderRow(db, placement).catch((error: unknown) => {
      if (!isCheckViolation(error, 'products_stock_check')) throw error;
      deps.logger.warn('order_placement_retried', {
        reason: 'stock changed under the statement',
        context: { order_id: placement.orderId },
      });
      return placeOrderRow(db, placement);
    });
    // A key that was there already: the statement wrote nothing, and committed that.
    if (!result.keyHeld && keyClaim?.unclaimed) return undefined;
    if (!result.keyHeld && keyClaim) throw keyTakenOver(keyClaim.key);
    if (!result.order || !result.pending) throw whyNotPlaced(input.items, result.products);
    return { order: result.order, pending: result.pending, products: result.products };
  });
  if (placed === undefined) throw new KeyNotNew();
  const { order, pending, products } = placed;
  deps.logger.info('order_created', {
    context: { order_id: order.id, total: order.total_amount, currency: order.currency, lines: input.items.length },
  });
  const lines = priceLines(input.items, new Map(products.map((product) => [product.id, product])));
  return chargeAndRecord(deps, {
    order,
    paymentMethod: input.paymentMethod,
    pending,
    lines: lines.sort((a, b) => compareProductIds(a.product_id, b.product_id)),
    keyClaim,
  });
}

/**
 * The refusal of an order the statement did not place, from its products as they were locked,
 * by the rules `placeOrderRow` checks, in the order a client fixes them: a product that does
 * not exist (or is inactive), products in two currencies, a total over the maximum, a line
 * without enough stock (the first in product id order, as the stock is taken).
 */
function whyNotPlaced(items: CreateOrderInput['items'], products: LockedProduct[]): Error {
  const byId = new Map(products.filter((product) => product.active).map((product) => [product.id, product]));
  const missing = items.find((item) => !byId.has(item.productId));
  if (missing !== undefined) {
    return new AppError('PRODUCT_NOT_FOUND', `No product with id ${missing.productId}`, {
      context: { product_id: missing.productId },
    });
  }
  const currencies = [...new Set([...byId.values()].map((product) => product.currency))];
  if (currencies.length > 1) {
    return new AppError(
      'CURRENCY_MISMATCH',
      `An order is paid in one currency; these products are priced in ${currencies.join(' and ')}`,
      { context: { currencies } },
    );
  }
  const tooLarge = totalOverLimit(priceLines(items, byId), currencies[0] ?? 'EUR');
  if (tooLarge) return tooLarge;
  const short = [...items]
    .sort((a, b) => compareProductIds(a.productId, b.productId))
    .find((item) => (byId.get(item.productId)?.stock ?? 0) < item.quantity);
  if (short) return outOfStock(short);
  return new Error('the order was not placed, and no line breaks a rule');
}
