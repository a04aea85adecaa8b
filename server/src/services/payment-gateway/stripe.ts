import type Stripe from 'stripe';
import { loadStripeSdk } from './stripe-sdk.ts';
import {
  PaymentGatewayUnavailableError,
  type ChargeOutcome,
  type ChargeRequest,
  type PaymentGateway,
  type RefundRequest,
} from './types.ts';

export interface StripeGatewayOptions {
  secretKey: string;
  /** Stripe's API by default; a Stripe-compatible server (tests, a local mock) otherwise. */
  apiUrl: string;
  timeoutMs: number;
}

/** The SDK client's settings, pointed at `apiUrl`. */
function clientSettings({ apiUrl, timeoutMs }: StripeGatewayOptions): Stripe.StripeConfig {
  const url = new URL(apiUrl);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return {
    host: url.hostname,
    port: url.port || (protocol === 'http' ? 80 : 443),
    protocol,
    timeout: timeoutMs,
    // Retries carry the request's Idempotency-Key: a retried charge is never charged twice.
    maxNetworkRetries: 1,
    telemetry: false,
  };
}

/**
 * A gateway failure with nothing known to be charged: rate limits, Stripe's own errors and the
 * network become PaymentGatewayUnavailableError (502 PAYMENT_GATEWAY_UNAVAILABLE), never a 500.
 */
function unavailable({ errors }: StripeSdk, error: unknown): PaymentGatewayUnavailableError {
  if (error instanceof errors.StripeRateLimitError) {
    return new PaymentGatewayUnavailableError(`Stripe rate limit: ${error.message}`, 'rate_limited');
  }
  if (error instanceof errors.StripeConnectionError) {
    return new PaymentGatewayUnavailableError(`Stripe could not be reached: ${error.message}`, 'unreachable');
  }
  if (error instanceof errors.StripeError) {
    return new PaymentGatewayUnavailableError(`Stripe ${error.type}: ${error.message}`, 'api_error');
  }
  return new PaymentGatewayUnavailableError(error instanceof Error ? error.message : String(error), 'unreachable');
}

type StripeSdk = typeof Stripe;

/** A card Stripe refused: its decline code, or what Stripe said of the payment method. */
function declineOf({ errors }: StripeSdk, error: unknown, request: ChargeRequest): ChargeOutcome | undefined {
  if (error instanceof errors.StripeCardError) {
    // Stripe's processing errors are transient: a retry may pass, as with the simulated gateway.
    if (error.code === 'processing_error') return undefined;
    return {
      status: 'declined',
      reference: error.payment_intent?.id ?? `pi_unknown_${request.paymentId}`,
      declineCode: error.decline_code ?? error.code ?? 'generic_decline',
      message: error.message,
    };
  }
  if (
    error instanceof errors.StripeInvalidRequestError &&
    error.code === 'resource_missing' &&
    error.param === 'payment_method'
  ) {
    return {
      status: 'declined',
      reference: `pi_unknown_${request.paymentId}`,
      declineCode: 'invalid_payment_method',
      message: `No such payment method: ${request.paymentMethod}`,
    };
  }
  return undefined;
}

/**
 * Stripe through its official SDK: a PaymentIntent created and confirmed at once with the
 * order's payment method (Stripe's test methods such as `pm_card_visa` work in test mode), the
 * amount in minor units, `metadata.order_id` and `metadata.payment_id`, and one Idempotency-Key
 * per attempt; refunds through the Refunds API under their own keys.
 */
export function createStripeGateway(options: StripeGatewayOptions): PaymentGateway {
  const settings = clientSettings(options);
  // The SDK starts loading with the gateway (at boot); the first call awaits it.
  const connecting = loadStripeSdk().then((sdk) => ({ sdk, stripe: new sdk(options.secretKey, settings) }));
  connecting.catch(() => undefined);
  return {
    name: 'stripe',

    async charge(request: ChargeRequest): Promise<ChargeOutcome> {
      const { sdk, stripe } = await connecting;
      let intent: Stripe.PaymentIntent;
      try {
        intent = await stripe.paymentIntents.create(
          {
            amount: request.amount,
            currency: request.currency.toLowerCase(),
            payment_method: request.paymentMethod,
            confirm: true,
            automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
            metadata: { order_id: request.orderId, payment_id: request.paymentId },
          },
          { idempotencyKey: request.idempotencyKey },
        );
      } catch (error) {
        const declined = declineOf(sdk, error, request);
        if (declined) return declined;
        if (error instanceof sdk.errors.StripeCardError) {
          throw new PaymentGatewayUnavailableError(error.message, 'processing_error');
        }
        throw unavailable(sdk, error);
      }
      if (intent.status === 'succeeded') return { status: 'succeeded', reference: intent.id };
      const lastError = intent.last_payment_error;
      return {
        status: 'declined',
        reference: intent.id,
        declineCode: lastError?.decline_code ?? lastError?.code ?? intent.status,
        message: lastError?.message ?? `The payment needs ${intent.status.replaceAll('_', ' ')}`,
      };
    },

    async refund(request: RefundRequest): Promise<{ reference: string }> {
      const { sdk, stripe } = await connecting;
      try {
        const refund = await stripe.refunds.create(
          { payment_intent: request.chargeReference, amount: request.amount },
          { idempotencyKey: request.idempotencyKey },
        );
        return { reference: refund.id };
      } catch (error) {
        throw unavailable(sdk, error);
      }
    },
  };
}
