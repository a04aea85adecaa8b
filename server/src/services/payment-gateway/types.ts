/** What a payment gateway does for us; the simulated one stands in for Stripe. */
export interface PaymentGateway {
  readonly name: string;
  /** Charges once per idempotency key: a retry with the same key returns the first outcome. */
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  /** Refunds a succeeded charge in full, once per idempotency key. */
  refund(request: RefundRequest): Promise<{ reference: string }>;
}

export interface ChargeRequest {
  amount: number;
  currency: string;
  paymentMethod: string;
  orderId: string;
  /** The payment row of this attempt: a webhook about the charge names it (Stripe: metadata). */
  paymentId: string;
  idempotencyKey: string;
}

export type ChargeOutcome =
  | { status: 'succeeded'; reference: string }
  | { status: 'declined'; reference: string; declineCode: string; message: string };

export interface RefundRequest {
  chargeReference: string;
  amount: number;
  currency: string;
  idempotencyKey: string;
}

/** The gateway could not be reached, timed out, or failed: nothing is known to be charged. */
export class PaymentGatewayUnavailableError extends Error {
  override name = 'PaymentGatewayUnavailableError';
  constructor(
    message: string,
    readonly kind: 'timeout' | 'processing_error' | 'unreachable' | 'rate_limited' | 'api_error',
  ) {
    super(message);
  }
}
