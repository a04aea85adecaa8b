import type { ColumnType, Insertable, Selectable } from 'kysely';

export type OrderStatus = 'pending_payment' | 'paid' | 'payment_failed' | 'cancelled' | 'refunded';
/** `pending`: written before the gateway is called; its answer (or the reconciler) settles it. */
export type PaymentStatus = 'pending' | 'succeeded' | 'declined' | 'failed' | 'refunded';

export interface OrdersTable {
  id: string;
  user_id: string;
  status: OrderStatus;
  currency: string;
  total_amount: number;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface OrderItemsTable {
  order_id: string;
  product_id: string;
  product_name: string;
  quantity: number;
  unit_price_amount: number;
  line_total_amount: number;
}

export interface PaymentsTable {
  id: string;
  order_id: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  gateway: string;
  gateway_reference: string | null;
  decline_code: string | null;
  failure_reason: string | null;
  payment_method: string;
  refund_reference: string | null;
  refunded_at: Date | null;
  /** The key the gateway is called with for this attempt; a replay with it never charges twice. */
  idempotency_key: string | null;
  /**
   * Set when the attempt is recorded `failed` because the gateway did not answer in time (it may
   * have charged after): the reconciler asks the gateway again past the grace period, then clears it.
   */
  outcome_unknown_since: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** The simulated gateway's own records, one per idempotency key (it stands outside the service). */
export interface SimulatedGatewayLedgerTable {
  idempotency_key: string;
  kind: 'charge' | 'refund';
  reference: string;
  status: 'succeeded' | 'declined';
  decline_code: string | null;
  message: string | null;
  amount: number;
  currency: string;
  order_id: string | null;
  charge_reference: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}

/** A gateway's webhook event, stored in the transaction that applied it: a redelivery is a no-op. */
export interface WebhookEventsTable {
  id: string;
  gateway: string;
  type: string;
  received_at: ColumnType<Date, Date | string | undefined, never>;
}

export interface IdempotencyKeysTable {
  user_id: string;
  key: string;
  operation: string;
  fingerprint: string;
  /** `interrupted`: its request stopped after writing `order_id`; the next one with the key resumes it. */
  state: 'in_progress' | 'interrupted' | 'done';
  order_id: string | null;
  error_code: string | null;
  error_message: string | null;
  /** A token of the request holding the key: only it ends the hold (done, interrupted, or forgotten). */
  claimed_by: string | null;
  /** Reset when an expired key is taken over by a new request. */
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export type OrderRow = Selectable<OrdersTable>;
export type NewOrderRow = Insertable<OrdersTable>;
export type OrderItemRow = Selectable<OrderItemsTable>;
export type PaymentRow = Selectable<PaymentsTable>;
export type NewPaymentRow = Insertable<PaymentsTable>;
export type IdempotencyKeyRow = Selectable<IdempotencyKeysTable>;
