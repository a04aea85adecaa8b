import { randomBytes } from 'node:crypto';

/**
 * The objects and errors of the local Stripe-compatible server, shaped as Stripe's API
 * reference gives them (PaymentIntent, Refund, Charge, Event, error object), for the fields
 * the service and the SDK read.
 */

export const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;
export const now = () => Math.floor(Date.now() / 1000);

export interface PaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  currency: string;
  status: 'succeeded' | 'requires_payment_method';
  payment_method: string;
  latest_charge: string | null;
  metadata: Record<string, string>;
  last_payment_error: { type: string; code: string; decline_code?: string; message: string } | null;
  livemode: false;
  created: number;
}

export interface Refund {
  id: string;
  object: 'refund';
  amount: number;
  currency: string;
  payment_intent: string;
  charge: string | null;
  status: 'succeeded';
  created: number;
}

/** What each of Stripe's test payment methods does. */
const DECLINES: Record<string, { decline_code: string; message: string }> = {
  pm_card_chargeDeclined: { decline_code: 'generic_decline', message: 'Your card was declined.' },
  pm_card_chargeDeclinedInsufficientFunds: {
    decline_code: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
  },
  pm_card_chargeDeclinedExpiredCard: { decline_code: 'expired_card', message: 'Your card has expired.' },
};
const SUCCEEDS = new Set(['pm_card_visa', 'pm_card_mastercard']);

export interface StripeAnswer {
  status: number;
  body: unknown;
}

export function errorAnswer(status: number, error: Record<string, unknown>): StripeAnswer {
  return { status, body: { error: { request_log_url: null, ...error } } };
}

/** Creates and confirms an intent as Stripe test mode would, or answers the error Stripe gives. */
export function confirmIntent(params: {
  amount: number;
  currency: string;
  paymentMethod: string;
  metadata: Record<string, string>;
}): { intent: PaymentIntent | undefined; answer: StripeAnswer } {
  if (params.paymentMethod === 'pm_card_chargeDeclinedProcessingError') {
    return {
      intent: undefined,
      answer: errorAnswer(402, {
        type: 'card_error',
        code: 'processing_error',
        message: 'An error occurred while processing your card. Try again in a little bit.',
      }),
    };
  }
  const decline = DECLINES[params.paymentMethod];
  if (!decline && !SUCCEEDS.has(params.paymentMethod)) {
    return {
      intent: undefined,
      answer: errorAnswer(400, {
        type: 'invalid_request_error',
        code: 'resource_missing',
        param: 'payment_method',
        message: `No such PaymentMethod: '${params.paymentMethod.slice(0, 64)}'`,
      }),
    };
  }
  const intent: PaymentIntent = {
    id: id('pi'),
    object: 'payment_intent',
    amount: params.amount,
    amount_received: decline ? 0 : params.amount,
    currency: params.currency,
    status: decline ? 'requires_payment_method' : 'succeeded',
    payment_method: params.paymentMethod,
    latest_charge: id('ch'),
    metadata: params.metadata,
    last_payment_error: decline ? { type: 'card_error', code: 'card_declined', ...decline } : null,
    livemode: false,
    created: now(),
  };
  if (!decline) return { intent, answer: { status: 200, body: intent } };
  return {
    intent,
    answer: errorAnswer(402, {
      type: 'card_error',
      code: 'card_declined',
      decline_code: decline.decline_code,
      message: decline.message,
      charge: intent.latest_charge,
      payment_intent: intent,
    }),
  };
}

/** The `charge.refunded` event's object: the intent's charge, refunded. */
export function refundedCharge(intent: PaymentIntent, refund: Refund) {
  return {
    id: intent.latest_charge,
    object: 'charge',
    amount: intent.amount,
    amount_refunded: refund.amount,
    currency: intent.currency,
    payment_intent: intent.id,
    refunded: true,
    metadata: intent.metadata,
    refunds: { object: 'list', data: [refund] },
  };
}

export function eventOf(type: string, object: unknown) {
  return {
    id: id('evt'),
    object: 'event',
    api_version: '2026-11-18.endive',
    created: now(),
    type,
    livemode: false,
    pending_webhooks: 1,
    data: { object },
  };
}
