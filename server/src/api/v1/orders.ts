import {
  CreateOrderInputSchema,
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
import { protectedProcedure, router } from '../trpc.ts';
import { route, type ApiVersion } from '../versioning.ts';

const IDEMPOTENCY_KEY = /^[\x21-\x7E]{1,255}$/;

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

export function ordersRouter(version: ApiVersion) {
  return router({
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
          protect: true,
          requestHeaders: IdempotencyHeadersSchema,
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
          protect: true,
          requestHeaders: IdempotencyHeadersSchema,
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
          protect: true,
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
          protect: true,
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
          protect: true,
        }),
      )
      .input(OrderRefInputSchema)
      .output(PaymentListSchema)
      .query(({ ctx, input }) => listPayments(ctx.db, { orderId: input.orderId, actor: ctx.user })),
  });
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
      protect: true,
      deprecated: true,
    }),
  )
  .input(ListOrdersInputSchema)
  .output(OrderPageSchema)
  .query(({ ctx, input }) => listOrders(ctx.db, { ...input, actor: ctx.user }));
