import {
  CreateOrderInputSchema,
  type ErrorCode,
  ListOrdersInputSchema,
  OrderPageSchema,
  OrderRefInputSchema,
  OrderSchema,
  PaymentListSchema,
  PayOrderInputSchema,
} from '@orders/shared';
import {
  cancelOrder,
  createOrder,
  getOrder,
  listOrders,
  listPayments,
  payOrder,
  type OrdersDeps,
} from '../../services/orders/index.ts';
import { ensureEmailVerified } from '../../services/email-verification.ts';
import type { Context } from '../context.ts';
import { IdempotencyHeadersSchema, idempotencyKeyOf } from '../idempotency-key.ts';
import { protectedProcedure } from '../trpc.ts';
import { route, type ApiVersion } from '../versioning.ts';

/** What an order-placing call under an Idempotency-Key can also be refused with. */
const IDEMPOTENCY_ERRORS = [
  'INVALID_IDEMPOTENCY_KEY',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_KEY_IN_PROGRESS',
] as const satisfies readonly ErrorCode[];

export function ordersDeps(ctx: Context): OrdersDeps {
  return {
    db: ctx.db,
    logger: ctx.logger,
    gateway: ctx.gateway,
    gatewayTimeoutMs: ctx.config.paymentGateway.timeoutMs,
  };
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
            'EMAIL_NOT_VERIFIED',
            ...IDEMPOTENCY_ERRORS,
          ],
        }),
      )
      .input(CreateOrderInputSchema)
      .output(OrderSchema)
      .mutation(async ({ ctx, input, batchIndex }) => {
        if (ctx.config.accounts.requireVerifiedEmail) await ensureEmailVerified(ctx, { userId: ctx.user.id });
        return createOrder(ordersDeps(ctx), {
          ...input,
          userId: ctx.user.id,
          idempotencyKey: idempotencyKeyOf(ctx, batchIndex),
        });
      }),

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
      .mutation(({ ctx, input, batchIndex }) =>
        payOrder(ordersDeps(ctx), { ...input, actor: ctx.user, idempotencyKey: idempotencyKeyOf(ctx, batchIndex) }),
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
