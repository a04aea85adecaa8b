import { describe, expect, it } from 'vitest';
import {
  createPaymentGateway,
  createSimulatedGateway,
  PaymentGatewayUnavailableError,
  withGatewayTimeout,
  type ChargeRequest,
} from './index.ts';

let keys = 0;
function chargeRequest(paymentMethod: string, overrides: Partial<ChargeRequest> = {}): ChargeRequest {
  keys += 1;
  return {
    amount: 1290,
    currency: 'EUR',
    paymentMethod,
    orderId: 'ord_TEST',
    paymentId: 'pay_TEST',
    idempotencyKey: `ord_TEST:attempt-${keys}`,
    ...overrides,
  };
}

describe('createSimulatedGateway', () => {
  it.each(['pm_card_visa', 'pm_card_mastercard'])('charges %s and counts the charge', async (method) => {
    const gateway = createSimulatedGateway({ latencyMs: 0 });
    const outcome = await gateway.charge(chargeRequest(method));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.reference).toMatch(/^ch_sim_[0-9a-f]{32}$/);
    expect(gateway.chargesMade()).toBe(1);
    expect(gateway.name).toBe('simulated');
  });

  it.each([
    ['pm_card_chargeDeclined', 'generic_decline', 'Your card was declined.'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds', 'Your card has insufficient funds.'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'Your card has expired.'],
  ])("declines %s with Stripe's decline code %s, and charges nothing", async (method, declineCode, message) => {
    const gateway = createSimulatedGateway({ latencyMs: 0 });
    const outcome = await gateway.charge(chargeRequest(method));
    expect(outcome).toEqual({ status: 'declined', reference: outcome.reference, declineCode, message });
    expect(outcome.reference).toMatch(/^ch_sim_[0-9a-f]{32}$/);
    expect(gateway.chargesMade()).toBe(0);
  });

  it('fails pm_card_chargeDeclinedProcessingError as a gateway error, not a decline', async () => {
    const gateway = createSimulatedGateway({ latencyMs: 0 });
    const failure = gateway.charge(chargeRequest('pm_card_chargeDeclinedProcessingError'));
    await expect(failure).rejects.toBeInstanceOf(PaymentGatewayUnavailableError);
    await expect(failure).rejects.toMatchObject({ kind: 'processing_error', name: 'PaymentGatewayUnavailableError' });
    expect(gateway.chargesMade()).toBe(0);
  });

  it('declines a payment method it does not know as invalid_payment_method', async () => {
    const gateway = createSimulatedGateway({ latencyMs: 0 });
    const outcome = await gateway.charge(chargeRequest('pm_card_unknown'));
    expect(outcome).toMatchObject({
      status: 'declined',
      declineCode: 'invalid_payment_method',
      message: 'No such payment method: pm_card_unknown',
    });
  });

  it('answers a retried idempotency key with the first outcome and charges once', async () => {
    const gateway = createSimulatedGateway({ latencyMs: 0 });
    const request = chargeRequest('pm_card_visa');
    const first = await gateway.charge(request);
    const again = await gateway.charge(request);
    const concurrent = await Promise.all([gateway.charge(request), gateway.charge(request)]);
    expect(again).toEqual(first);
    expect(concurrent).toEqual([first, first]);
    expect(gateway.chargesMade()).toBe(1);

    const declineRequest = chargeRequest('pm_card_chargeDeclined');
    expect(await gateway.charge(declineRequest)).toEqual(await gateway.charge(declineRequest));
  });

  it('charges again under another idempotency key', async () => {
    const gateway = createSimulatedGateway({ latencyMs: 0 });
    const first = await gateway.charge(chargeRequest('pm_card_visa'));
    const second = await gateway.charge(chargeRequest('pm_card_visa'));
    expect(second.reference).not.toBe(first.reference);
    expect(gateway.chargesMade()).toBe(2);
  });

  it('lets a processing error be retried under the same key', async () => {
    const gateway = createSimulatedGateway({ latencyMs: 0 });
    const request = chargeRequest('pm_card_chargeDeclinedProcessingError');
    await expect(gateway.charge(request)).rejects.toThrow(PaymentGatewayUnavailableError);
    await expect(gateway.charge(request)).rejects.toThrow(PaymentGatewayUnavailableError);
  });

  it('refunds once per idempotency key', async () => {
    const gateway = createSimulatedGateway({ latencyMs: 0 });
    const charge = await gateway.charge(chargeRequest('pm_card_visa'));
    const refundRequest = {
      chargeReference: charge.reference,
      amount: 1290,
      currency: 'EUR',
      idempotencyKey: 'ord_TEST:refund',
    };
    const refund = await gateway.refund(refundRequest);
    expect(refund.reference).toMatch(/^re_sim_[0-9a-f]{32}$/);
    expect(await gateway.refund(refundRequest)).toEqual(refund);
    expect((await gateway.refund({ ...refundRequest, idempotencyKey: 'ord_OTHER:refund' })).reference).not.toBe(
      refund.reference,
    );
  });

  it('answers after its latency, charges and refunds alike', async () => {
    const gateway = createSimulatedGateway({ latencyMs: 60 });
    let started = performance.now();
    await gateway.charge(chargeRequest('pm_card_visa'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    started = performance.now();
    await gateway.refund({ chargeReference: 'ch_sim_x', amount: 1, currency: 'EUR', idempotencyKey: 'k' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });
});

describe('createPaymentGateway', () => {
  it('builds the simulated gateway PAYMENT_GATEWAY names', async () => {
    const gateway = createPaymentGateway({ kind: 'simulated', latencyMs: 0 });
    expect(gateway.name).toBe('simulated');
    expect(await gateway.charge(chargeRequest('pm_card_visa'))).toMatchObject({ status: 'succeeded' });
  });
});

describe('withGatewayTimeout', () => {
  it('passes the answer through when the gateway is in time', async () => {
    const gateway = createSimulatedGateway({ latencyMs: 10 });
    await expect(withGatewayTimeout(gateway.charge(chargeRequest('pm_card_visa')), 1_000)).resolves.toMatchObject({
      status: 'succeeded',
    });
  });

  it('gives up after the timeout with a timeout error', async () => {
    const gateway = createSimulatedGateway({ latencyMs: 300 });
    const started = performance.now();
    const call = withGatewayTimeout(gateway.charge(chargeRequest('pm_card_visa')), 50);
    await expect(call).rejects.toBeInstanceOf(PaymentGatewayUnavailableError);
    await expect(call).rejects.toMatchObject({
      kind: 'timeout',
      message: 'The payment gateway did not answer within 50 ms',
    });
    expect(performance.now() - started).toBeLessThan(250);
  });

  it('passes a gateway failure through as it is', async () => {
    const gateway = createSimulatedGateway({ latencyMs: 0 });
    await expect(
      withGatewayTimeout(gateway.charge(chargeRequest('pm_card_chargeDeclinedProcessingError')), 1_000),
    ).rejects.toMatchObject({
      kind: 'processing_error',
    });
  });
});
