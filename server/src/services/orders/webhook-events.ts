import type { Trx } from '../../core/db/transaction.ts';
import { withTransaction } from '../../core/db/transaction.ts';
import { refundLateCharge } from './charge.ts';
import type { OrdersDeps } from './deps.ts';
import { recordOutcome, recordRefund, type Attempt, type Recorded } from './payment-attempt.ts';

/** The part of a gateway's event this service reads (Stripe's Event shape). */
export interface GatewayEvent {
  id: string;
  type: string;
  data: { object: unknown };
}

/**
 * `recorded`: the event moved its payment (or found it moved already, by the synchronous path
 * or the reconciler); `duplicate`: this event id was processed before; `ignored`: a type this
 * service does not act on; `unknown_payment`: no payment attempt of ours matches it.
 */
export type WebhookOutcome = 'recorded' | 'duplicate' | 'ignored' | 'unknown_payment';

interface IntentObject {
  id: string;
  metadata?: Record<string, string> | null;
  last_payment_error?: { decline_code?: string | null; code?: string | null; message?: string | null } | null;
}
interface ChargeObject {
  id: string;
  payment_intent?: string | null;
  /** A PaymentIntent's charge carries the intent's metadata. */
  metadata?: Record<string, string> | null;
  refunds?: { data?: { id: string }[] } | null;
}

const HANDLED = new Set(['payment_intent.succeeded', 'payment_intent.payment_failed', 'charge.refunded']);

/** Our payment attempt the event is about: by the id we gave Stripe (metadata), else by the PaymentIntent's id. */
async function paymentOf(trx: Trx, { paymentId, reference }: { paymentId: string | undefined; reference: string }) {
  return trx
    .selectFrom('payments')
    .select(['id', 'order_id', 'status'])
    .where((eb) =>
      paymentId === undefined
        ? eb('gateway_reference', '=', reference)
        : eb.or([eb('id', '=', paymentId), eb('gateway_reference', '=', reference)]),
    )
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}

function intentAttempt(type: string, intent: IntentObject): Attempt {
  if (type === 'payment_intent.succeeded') return { status: 'succeeded', reference: intent.id };
  const lastError = intent.last_payment_error;
  return {
    status: 'declined',
    reference: intent.id,
    declineCode: lastError?.decline_code ?? lastError?.code ?? 'generic_decline',
    message: lastError?.message ?? 'The payment failed.',
  };
}

type Applied = { outcome: WebhookOutcome; lateCharge?: Recorded['lateCharge'] };

async function applyIntentEvent(trx: Trx, type: string, intent: IntentObject): Promise<Applied> {
  const payment = await paymentOf(trx, { paymentId: intent.metadata?.payment_id, reference: intent.id });
  if (!payment) return { outcome: 'unknown_payment' };
  const recorded = await recordOutcome(trx, {
    orderId: payment.order_id,
    paymentId: payment.id,
    attempt: intentAttempt(type, intent),
  });
  return { outcome: 'recorded', lateCharge: recorded.lateCharge };
}

/**
 * A refund made at the gateway (from this service, or from Stripe's dashboard). Arriving before
 * the success it implies, it records the success first; an order cancelled before its charge
 * landed keeps its status, and its late charge counts as refunded.
 */
async function applyRefundEvent(trx: Trx, charge: ChargeObject): Promise<Applied> {
  if (!charge.payment_intent) return { outcome: 'unknown_payment' };
  const payment = await paymentOf(trx, { paymentId: charge.metadata?.payment_id, reference: charge.payment_intent });
  if (!payment) return { outcome: 'unknown_payment' };
  if (payment.status === 'pending') {
    await recordOutcome(trx, {
      orderId: payment.order_id,
      paymentId: payment.id,
      attempt: { status: 'succeeded', reference: charge.payment_intent },
    });
  }
  await recordRefund(trx, {
    orderId: payment.order_id,
    paymentId: payment.id,
    refundReference: charge.refunds?.data?.[0]?.id ?? charge.id,
  });
  return { outcome: 'recorded' };
}

/**
 * Applies one verified gateway event exactly once: its id is stored in the same transaction as
 * its effect, so a redelivery (or two deliveries at once) changes nothing. Events move payments
 * and orders through the same code as the synchronous path, in whatever order they arrive.
 */
export async function applyGatewayEvent(
  deps: OrdersDeps,
  { gateway, event }: { gateway: string; event: GatewayEvent },
): Promise<WebhookOutcome> {
  const applied = await withTransaction(deps, 'apply_webhook_event', async (trx): Promise<Applied> => {
    const fresh = await trx
      .insertInto('webhook_events')
      .values({ id: event.id, gateway, type: event.type })
      .onConflict((conflict) => conflict.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!fresh) return { outcome: 'duplicate' };
    if (!HANDLED.has(event.type)) return { outcome: 'ignored' };
    if (event.type === 'charge.refunded') return applyRefundEvent(trx, event.data.object as ChargeObject);
    return applyIntentEvent(trx, event.type, event.data.object as IntentObject);
  });
  if (applied.lateCharge) {
    const { paymentId } = applied.lateCharge;
    const order = await deps.db
      .selectFrom('payments')
      .select('order_id')
      .where('id', '=', paymentId)
      .executeTakeFirst();
    await refundLateCharge(deps, { orderId: order?.order_id ?? '', ...applied.lateCharge });
  }
  return applied.outcome;
}
