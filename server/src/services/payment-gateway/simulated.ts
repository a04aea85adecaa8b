import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../../core/db/database.ts';
import { databaseLedger, memoryLedger, type SimulatedLedger } from './simulated-ledger.ts';
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

function outcomeFor(paymentMethod: string): ChargeOutcome {
  const reference = `ch_sim_${randomUUID().replaceAll('-', '')}`;
  const decline = DECLINES[paymentMethod];
  if (decline) return { status: 'declined', reference, ...decline };
  if (SUCCEEDS.has(paymentMethod)) return { status: 'succeeded', reference };
  return {
    status: 'declined',
    reference,
    declineCode: 'invalid_payment_method',
    message: `No such payment method: ${paymentMethod}`,
  };
}

/**
 * A gateway that answers like Stripe's test mode, `latencyMs` after it took the charge.
 * Outcomes are kept per idempotency key, so a retried charge is never charged twice: in
 * memory, or with `db` in the database's `simulated_gateway_ledger`, where a charge taken
 * before the caller died is still found by the reconciler's replay.
 */
export function createSimulatedGateway({
  latencyMs,
  db,
}: {
  latencyMs: number;
  db?: Db | undefined;
}): PaymentGateway & { chargesMade(): number } {
  const ledger: SimulatedLedger = db ? databaseLedger(db) : memoryLedger();
  let made = 0;
  const answerLater = async () => {
    if (latencyMs > 0) await sleep(latencyMs);
  };

  return {
    name: 'simulated',
    /** Charges this instance took (with `db`, others may have taken more under the same ledger). */
    chargesMade: () => made,

    async charge(request: ChargeRequest): Promise<ChargeOutcome> {
      if (request.paymentMethod === PROCESSING_ERROR) {
        await answerLater();
        throw new PaymentGatewayUnavailableError('An error occurred while processing your card.', 'processing_error');
      }
      // Taken first, answered after the latency: the window in which a caller may die.
      const { outcome, stored } = await ledger.charge(
        request.idempotencyKey,
        outcomeFor(request.paymentMethod),
        request,
      );
      if (stored && outcome.status === 'succeeded') made += 1;
      // A replay is answered from the record at once, as Stripe answers a replayed key.
      if (stored) await answerLater();
      return outcome;
    },

    async refund(request: RefundRequest): Promise<{ reference: string }> {
      const reference = `re_sim_${randomUUID().replaceAll('-', '')}`;
      const refund = await ledger.refund(request.idempotencyKey, reference, request);
      await answerLater();
      return refund;
    },
  };
}
