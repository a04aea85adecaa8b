import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  PaymentGatewayUnavailableError,
  type ChargeOutcome,
  type ChargeRequest,
  type PaymentGateway,
  type RefundRequest,
} from './types.ts';

/** Stripe's test payment methods and what each does. */
const DECLINES: Record<string, { declineCode: string; message: string }> = {
  pm_card_chargeDeclined: { declineCode: 'generic_decline', message: 'Your card was declined.' },
  pm_card_chargeDeclinedInsufficientFunds: {
    declineCode: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
  },
  pm_card_chargeDeclinedExpiredCard: { declineCode: 'expired_card', message: 'Your card has expired.' },
};
const SUCCEEDS = new Set(['pm_card_visa', 'pm_card_mastercard']);
const PROCESSING_ERROR = 'pm_card_chargeDeclinedProcessingError';

/**
 * A gateway in memory that answers like Stripe's test mode, after `latencyMs`. Outcomes are
 * kept per idempotency key, so a retried charge is never charged twice.
 */
export function createSimulatedGateway({
  latencyMs,
}: {
  latencyMs: number;
}): PaymentGateway & { chargesMade(): number } {
  const charges = new Map<string, ChargeOutcome>();
  const refunds = new Map<string, { reference: string }>();
  let made = 0;

  return {
    name: 'simulated',
    chargesMade: () => made,

    async charge(request: ChargeRequest): Promise<ChargeOutcome> {
      if (latencyMs > 0) await sleep(latencyMs);
      const earlier = charges.get(request.idempotencyKey);
      if (earlier) return earlier;
      if (request.paymentMethod === PROCESSING_ERROR) {
        throw new PaymentGatewayUnavailableError('An error occurred while processing your card.', 'processing_error');
      }
      const reference = `ch_sim_${randomUUID().replaceAll('-', '')}`;
      const decline = DECLINES[request.paymentMethod];
      const outcome: ChargeOutcome = decline
        ? { status: 'declined', reference, ...decline }
        : SUCCEEDS.has(request.paymentMethod)
          ? { status: 'succeeded', reference }
          : {
              status: 'declined',
              reference,
              declineCode: 'invalid_payment_method',
              message: `No such payment method: ${request.paymentMethod}`,
            };
      if (outcome.status === 'succeeded') made += 1;
      charges.set(request.idempotencyKey, outcome);
      return outcome;
    },

    async refund(request: RefundRequest): Promise<{ reference: string }> {
      if (latencyMs > 0) await sleep(latencyMs);
      const earlier = refunds.get(request.idempotencyKey);
      if (earlier) return earlier;
      const refund = { reference: `re_sim_${randomUUID().replaceAll('-', '')}` };
      refunds.set(request.idempotencyKey, refund);
      return refund;
    },
  };
}
