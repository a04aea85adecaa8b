import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../../core/errors.ts';
import { readBodyText } from '../../core/http/body-text.ts';
import { declaresBodyOver, payloadTooLarge } from '../../core/http/json-body.ts';
import { sendError, sendJson } from '../../core/http/send.ts';
import type { OrdersDeps } from '../../services/orders/index.ts';
import { applyGatewayEvent, type GatewayEvent } from '../../services/orders/webhook-events.ts';
import { loadStripeSdk, preloadStripeSdk } from '../../services/payment-gateway/stripe-sdk.ts';

/** Stripe's own default: a delivery signed longer ago than this is refused as a replay. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** The exact reason a delivery is refused, in a few words (the SDK's messages run to paragraphs). */
function signatureProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes('Timestamp outside the tolerance zone')) {
    return `Stripe-Signature timestamp is outside the tolerance of ${SIGNATURE_TOLERANCE_SECONDS} seconds`;
  }
  if (message.includes('Unable to extract timestamp and signatures')) return 'Stripe-Signature header is malformed';
  if (message.includes('No signatures found matching')) return 'No signature in Stripe-Signature matches the body';
  return 'Stripe-Signature could not be verified';
}

/**
 * POST /webhooks/stripe: the raw body's `Stripe-Signature` is verified with the SDK (timestamp
 * tolerance 5 minutes) before anything is read from it. A bad or missing signature is 400 with
 * a `webhook_rejected` line giving the exact reason, and changes nothing; a verified event is
 * applied once (see `applyGatewayEvent`) and answered 200, with a `webhook_received` line
 * naming it. Not an API procedure: Stripe, not a client, calls it; the README documents it.
 */
export function createStripeWebhookHandler(
  deps: OrdersDeps & { webhookSecret: string | undefined; maxBodyBytes: number },
) {
  const reject = (res: ServerResponse, reason: string) => {
    deps.logger.warn('webhook_rejected', { gateway: 'stripe', reason });
    sendError(res, new AppError('BAD_REQUEST', `Webhook refused: ${reason}`));
  };
  // The SDK verifies the signatures: loaded (now, at boot) only when a webhook secret is set.
  if (deps.webhookSecret !== undefined) preloadStripeSdk();

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') {
      sendError(
        res,
        new AppError('METHOD_NOT_ALLOWED', 'Stripe webhooks are delivered with POST', { headers: { Allow: 'POST' } }),
      );
      return;
    }
    if (deps.webhookSecret === undefined) {
      sendError(res, new AppError('ROUTE_NOT_FOUND', 'Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET)'));
      return;
    }
    if (declaresBodyOver(req, deps.maxBodyBytes)) throw payloadTooLarge(deps.maxBodyBytes);
    const body = await readBodyText(req, {
      maxBytes: deps.maxBodyBytes,
      tooLarge: () => payloadTooLarge(deps.maxBodyBytes),
    });
    const header = req.headers['stripe-signature'];
    if (typeof header !== 'string' || header === '') {
      reject(res, 'No Stripe-Signature header');
      return;
    }
    const { webhooks } = await loadStripeSdk();
    let event: GatewayEvent;
    try {
      event = webhooks.constructEvent(body, header, deps.webhookSecret, SIGNATURE_TOLERANCE_SECONDS);
    } catch (error) {
      reject(res, signatureProblem(error));
      return;
    }
    const outcome = await applyGatewayEvent(deps, { gateway: 'stripe', event });
    deps.logger.info('webhook_received', {
      gateway: 'stripe',
      context: { event_id: event.id, type: event.type, outcome },
    });
    sendJson(res, { status: 200, body: { received: true } });
  };
}
