import { z } from 'zod';
import { MoneySchema } from './money.ts';
import { PageQuerySchema, pageOf, MAX_PAGE_LIMIT, DEFAULT_PAGE_LIMIT } from './pagination.ts';
import { ProductIdSchema } from './products.ts';
import { safeText } from './text.ts';
import { UserIdSchema } from './users.ts';

export const ORDER_STATUSES = ['pending_payment', 'paid', 'payment_failed', 'cancelled', 'refunded'] as const;
export const OrderStatusSchema = z.enum(ORDER_STATUSES);
export type OrderStatus = z.infer<typeof OrderStatusSchema>;

/** `pending`: the gateway has been asked and its answer is not recorded yet. */
export const PAYMENT_STATUSES = ['pending', 'succeeded', 'declined', 'failed', 'refunded'] as const;
export const PaymentStatusSchema = z.enum(PAYMENT_STATUSES);

export const OrderIdSchema = safeText()
  .regex(/^ord_[0-9A-Za-z]{1,40}$/, 'must be an order id like ord_…')
  .meta({ example: 'ord_01JD4X8ZQ0M3V6N2T9K7W5A1BC' });

/** A payment method id as the gateway knows it; the simulated gateway follows Stripe's test methods. */
export const PaymentMethodSchema = safeText()
  .regex(/^pm_[A-Za-z0-9_]{1,64}$/, 'must be a payment method id like pm_card_visa')
  .meta({
    example: 'pm_card_visa',
    description:
      'Simulated gateway: pm_card_visa and pm_card_mastercard succeed; pm_card_chargeDeclined, pm_card_chargeDeclinedInsufficientFunds and pm_card_chargeDeclinedExpiredCard are declined; pm_card_chargeDeclinedProcessingError fails at the gateway.',
  });

/**
 * The Idempotency-Key header of orders.create and orders.pay: 1 to 255 visible ASCII characters
 * (`!` to `~`, a range every regex dialect reads alike). The OpenAPI document shows this rule,
 * and the server checks the header with this schema.
 */
export const IdempotencyKeySchema = z
  .string()
  .regex(/^[!-~]{1,255}$/, 'Idempotency-Key must be 1 to 255 visible ASCII characters');

export const MAX_ORDER_LINES = 50;
/**
 * The most of one product a line may ask for. A line total (price x quantity) can still pass
 * MAX_MONEY_AMOUNT: the order's total is checked against it when the order is placed.
 */
export const MAX_LINE_QUANTITY = 1000;

export const OrderLineInputSchema = z.strictObject({
  productId: ProductIdSchema,
  quantity: z.int().min(1).max(MAX_LINE_QUANTITY),
});

export const CreateOrderInputSchema = z.strictObject({
  items: z
    .array(OrderLineInputSchema)
    .min(1, 'an order needs at least one line')
    .max(MAX_ORDER_LINES, `an order has at most ${MAX_ORDER_LINES} lines`)
    .refine((items) => new Set(items.map((item) => item.productId)).size === items.length, {
      message: 'each product may appear once; add up its quantity instead',
    }),
  paymentMethod: PaymentMethodSchema,
});
export type CreateOrderInput = z.infer<typeof CreateOrderInputSchema>;

export const PayOrderInputSchema = z.strictObject({ orderId: OrderIdSchema, paymentMethod: PaymentMethodSchema });
export type PayOrderInput = z.infer<typeof PayOrderInputSchema>;

export const OrderRefInputSchema = z.strictObject({ orderId: OrderIdSchema });
export type OrderRefInput = z.infer<typeof OrderRefInputSchema>;

export const OrderLineSchema = z
  .object({
    productId: ProductIdSchema,
    productName: z.string().meta({ example: 'Ceramic mug' }),
    quantity: z.int().meta({ example: 2 }),
    unitPrice: MoneySchema,
    lineTotal: MoneySchema,
  })
  .meta({ id: 'OrderLine' });

export const OrderSchema = z
  .object({
    id: OrderIdSchema,
    userId: UserIdSchema,
    status: OrderStatusSchema,
    total: MoneySchema,
    items: z.array(OrderLineSchema),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Order' });
export type Order = z.infer<typeof OrderSchema>;

export const PaymentSchema = z
  .object({
    id: z.string().meta({ example: 'pay_01JD4X8ZQ0M3V6N2T9K7W5A1BC' }),
    orderId: OrderIdSchema,
    amount: MoneySchema,
    status: PaymentStatusSchema,
    gateway: z.string().meta({ example: 'simulated' }),
    gatewayReference: z.string().nullable().meta({ example: 'ch_sim_5f0c7a2e9b8d4c1e8f3a6b2d7c9e0f14' }),
    paymentMethod: z.string().meta({ example: 'pm_card_visa' }),
    declineCode: z
      .string()
      .nullable()
      .meta({ description: 'set on a declined attempt', example: 'insufficient_funds' }),
    failureReason: z.string().nullable(),
    refundedAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Payment' });
export type Payment = z.infer<typeof PaymentSchema>;

export const PaymentListSchema = z.object({ items: z.array(PaymentSchema) }).meta({ id: 'PaymentList' });

export const ListOrdersInputSchema = PageQuerySchema.extend({
  userId: UserIdSchema.optional().meta({ description: "admins only: one user's orders" }),
  status: OrderStatusSchema.optional(),
}).prefault({});
export type ListOrdersInput = z.infer<typeof ListOrdersInputSchema>;

export const OrderPageSchema = pageOf(OrderSchema).meta({ id: 'OrderPage' });

export const ListOrdersV2InputSchema = z
  .strictObject({
    limit: z.int().min(1).max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT),
    cursor: safeText().min(1).max(512).optional().meta({ description: 'nextCursor of the previous page' }),
    userId: UserIdSchema.optional().meta({ description: "admins only: one user's orders" }),
    status: OrderStatusSchema.optional(),
  })
  .prefault({});
export type ListOrdersV2Input = z.infer<typeof ListOrdersV2InputSchema>;

export const OrderCursorPageSchema = z
  .object({
    items: z.array(OrderSchema),
    nextCursor: z.string().nullable().meta({ description: 'null on the last page' }),
  })
  .meta({ id: 'OrderCursorPage' });
