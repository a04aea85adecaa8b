import { SpanKind } from '@opentelemetry/api';
import type { Metrics } from '../../core/telemetry/metrics.ts';
import { activeTracer, withSpan } from '../../core/telemetry/tracing.ts';
import type { ChargeOutcome, ChargeRequest, PaymentGateway, RefundRequest } from './types.ts';

/**
 * The gateway with each call observed: a client span (`payment_gateway charge`, its outcome;
 * a failure recorded on it, redacted) and the payments and latency series. The gateway itself
 * is returned as it is when tracing and metrics are both off.
 */
export function observedGateway(gateway: PaymentGateway, metrics: Metrics | undefined): PaymentGateway {
  if (activeTracer() === undefined && metrics === undefined) return gateway;
  const observe = async <Result>(
    operation: 'charge' | 'refund',
    call: () => Promise<Result>,
    outcomeOf: (result: Result) => string,
  ): Promise<Result> => {
    const attributes = { 'payment.gateway': gateway.name, 'payment.operation': operation };
    return withSpan(`payment_gateway ${operation}`, { attributes, kind: SpanKind.CLIENT }, async (span) => {
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      try {
        const result = await call();
        const outcome = outcomeOf(result);
        span?.setAttribute('payment.outcome', outcome);
        metrics?.observeGateway({ gateway: gateway.name, operation, outcome }, seconds());
        return result;
      } catch (error) {
        span?.setAttribute('payment.outcome', 'failed');
        metrics?.observeGateway({ gateway: gateway.name, operation, outcome: 'failed' }, seconds());
        throw error;
      }
    });
  };
  // Built on the gateway, so whatever else it offers stays reachable.
  const observed = Object.create(gateway) as PaymentGateway;
  return Object.assign(observed, {
    charge: (request: ChargeRequest) =>
      observe(
        'charge',
        () => gateway.charge(request),
        (outcome: ChargeOutcome) => outcome.status,
      ),
    refund: (request: RefundRequest) =>
      observe(
        'refund',
        () => gateway.refund(request),
        () => 'succeeded',
      ),
  });
}
