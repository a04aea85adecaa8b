import {
  CreateOrderInputSchema,
  type ErrorCode,
  ListOrdersInputSchema,
  OrderPageSchema,
  OrderRefInputSchema,
  OrderSchema,
  type Order,
  PaymentListSchema,
  PayOrderInputSchema,
} from '@orders/shared';
import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import {
  cancelOrder,
  createOrder,
  getOrder,
  listOrders,
  listPayments,
  payOrder,
  runIdempotent,
  type Actor,
  type KeyClaim,
  type OrdersDeps,
} from '../../services/orders/index.ts';
import type { Context } from '../context.ts';
import { protectedProcedure } from '../trpc.ts';
import { route, type ApiVersion } from '../versioning.ts';

const IDEMPOTENCY_KEY = /^[\x21-\x7E]{1,255}$/;
/** What an order-placing call under an Idempotency-Key can also be refused with. */
const IDEMPOTENCY_ERRORS = [
  'INVALID_IDEMPOTENCY_KEY',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_KEY_IN_PROGRESS',
] as const satisfies readonly ErrorCode[];

export const IdempotencyHeadersSchema = z.object({
  'idempotency-key': z.string().optional().meta({
    description:
      'Makes a retry safe: the same key with the same body answers the first result and charges once (kept 24 h).',
    example: '5f0c7a2e-checkout-42',
  }),
});

export function ordersDeps(ctx: Context): OrdersDeps {
  return {
    db: ctx.db,
    logger: ctx.logger,
    gateway: ctx.gateway,
    gatewayTimeoutMs: ctx.config.paymentGateway.timeoutMs,
  };
}

/** The request's Idempotency-Key header (both protocols), checked; undefined when absent. */
function idempotencyKeyOf(ctx: Context): string | undefined {
  const key = ctx.header('idempotency-key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new AppError('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  }
  return key;
}

/**
 * Runs an order-placing call under the request's Idempotency-Key, when it has one: a replay
 * answers the first outcome (the order as it is now, or the first error) without charging again.
 */
function withIdempotencyKey(
  ctx: Context & { user: Actor },
  { operation, input }: { operation: 'orders.create' | 'orders.pay'; input: unknown },
  run: (deps: OrdersDeps, options: { keyClaim?: KeyClaim }) => Promise<Order>,
): Promise<Order> {
  const deps = ordersDeps(ctx);
  const key = idempotencyKeyOf(ctx);
  if (key === undefined) return run(deps, {});
  return runIdempotent(
    deps,
    { userId: ctx.user.id, key, operation, request: input },
    { run: (keyClaim) => run(deps, { keyClaim }), replay: (orderId) => getOrder(ctx.db, { orderId, actor: ctx.user }) },
  );
}

/** The order procedures every version has as they are; each version adds its own `list`. */
export function ordersProcedures(version: ApiVersion) {
  return {
    create: protectedProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/orders/create',
          operationId: 'orders.create',
          tags: ['orders'],
          summary: 'Place an order and charge it at once',
          description:
            'Reserves stock and charges the payment method. A decline answers 402 PAYMENT_DECLINED and keeps the order as payment_failed, to be paid again with orders.pay.',
          requestHeaders: IdempotencyHeadersSchema,
          errors: [
            'PRODUCT_NOT_FOUND',
            'OUT_OF_STOCK',
            'INVALID_STATE_TRANSITION',
            'CURRENCY_MISMATCH',
            'ORDER_TOTAL_TOO_LARGE',
            'PAYMENT_DECLINED',
            'PAYMENT_GATEWAY_UNAVAILABLE',
            ...IDEMPOTENCY_ERRORS,
          ],
        }),
      )
      .input(CreateOrderInputSchema)
      .output(OrderSchema)
      .mutation(({ ctx, input }) =>
        withIdempotencyKey(ctx, { operation: 'orders.create', input }, (deps, options) =>
          createOrder(deps, { ...input, userId: ctx.user.id }, options),
        ),
      ),

    pay: protectedProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/orders/{orderId}/pay',
          operationId: 'orders.pay',
          tags: ['orders'],
          summary: 'Pay a payment_failed order again',
          requestHeaders: IdempotencyHeadersSchema,
          errors: [
            'ORDER_NOT_FOUND',
            'OUT_OF_STOCK',
            'INVALID_STATE_TRANSITION',
            'PAYMENT_DECLINED',
            'PAYMENT_GATEWAY_UNAVAILABLE',
            ...IDEMPOTENCY_ERRORS,
          ],
        }),
      )
      .input(PayOrderInputSchema)
      .output(OrderSchema)
      .mutation(({ ctx, input }) =>
        withIdempotencyKey(ctx, { operation: 'orders.pay', input }, (deps, options) =>
          payOrder(deps, { ...input, actor: ctx.user }, options),
        ),
      ),

    cancel: protectedProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/orders/{orderId}/cancel',
          operationId: 'orders.cancel',
          tags: ['orders'],
          summary: 'Cancel an order; a paid one is refunded',
          errors: ['ORDER_NOT_FOUND', 'INVALID_STATE_TRANSITION', 'PAYMENT_GATEWAY_UNAVAILABLE'],
        }),
      )
      .input(OrderRefInputSchema)
      .output(OrderSchema)
      .mutation(({ ctx, input }) => cancelOrder(ordersDeps(ctx), { orderId: input.orderId, actor: ctx.user })),

    get: protectedProcedure
      .meta(
        route(version, {
          method: 'GET',
          path: '/orders/{orderId}',
          operationId: 'orders.get',
          tags: ['orders'],
          summary: 'Get one order with its lines',
          errors: ['ORDER_NOT_FOUND'],
        }),
      )
      .input(OrderRefInputSchema)
      .output(OrderSchema)
      .query(({ ctx, input }) => getOrder(ctx.db, { orderId: input.orderId, actor: ctx.user })),

    payments: protectedProcedure
      .meta(
        route(version, {
          method: 'GET',
          path: '/orders/{orderId}/payments',
          operationId: 'orders.payments',
          tags: ['orders'],
          summary: 'Every payment attempt of an order, declined ones too',
          errors: ['ORDER_NOT_FOUND'],
        }),
      )
      .input(OrderRefInputSchema)
      .output(PaymentListSchema)
      .query(({ ctx, input }) => listPayments(ctx.db, { orderId: input.orderId, actor: ctx.user })),
  };
}

/** v1's offset-paged list; v2 replaces it with keyset paging. */
export const listOrdersV1 = protectedProcedure
  .meta(
    route('v1', {
      method: 'GET',
      path: '/orders',
      operationId: 'orders.list',
      tags: ['orders'],
      summary: 'List orders (offset paging)',
      description:
        "Your orders; admins see everyone's, or one user's with userId. Deprecated: use GET /v2/orders, whose keyset paging neither skips nor repeats orders while new ones arrive.",
      deprecated: true,
      errors: [],
    }),
  )
  .input(ListOrdersInputSchema)
  .output(OrderPageSchema)
  .query(({ ctx, input }) => listOrders(ctx.db, { ...input, actor: ctx.user }));
