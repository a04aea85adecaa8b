import { SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { redactString } from '../logging/redact.ts';
import type { Logger } from '../logging/logger.ts';
import type { TracingSettings } from './tracing-config.ts';

/**
 * OpenTelemetry traces. Off (no OTLP endpoint), nothing of the SDK is loaded, no context manager
 * is registered, and every helper here returns after one check of `tracer`: the code paths that
 * make spans cost a comparison. On, `startTracing` loads the SDK, registers it as the global
 * provider (W3C trace context propagation, AsyncLocalStorage context), and spans go out in
 * batches over OTLP/HTTP (protobuf or JSON).
 *
 * The tracer is the process's own, like the OpenTelemetry API's global provider it comes from.
 */
let tracer: Tracer | undefined;

export interface Tracing {
  /** Sends the spans still buffered (for `timeoutMs` at most) and stops; never throws. */
  shutdown(options: { timeoutMs: number; logger: Logger }): Promise<void>;
}

export async function startTracing(settings: TracingSettings, { version }: { version: string }): Promise<Tracing> {
  const [{ NodeTracerProvider, BatchSpanProcessor }, { detectResources, envDetector, resourceFromAttributes }] =
    await Promise.all([import('@opentelemetry/sdk-trace-node'), import('@opentelemetry/resources')]);
  const { OTLPTraceExporter } =
    settings.protocol === 'http/json'
      ? await import('@opentelemetry/exporter-trace-otlp-http')
      : await import('@opentelemetry/exporter-trace-otlp-proto');
  // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (the env detector) win over the defaults.
  const resource = resourceFromAttributes({
    'service.name': settings.serviceName,
    'service.version': version,
    'process.pid': process.pid,
  }).merge(detectResources({ detectors: [envDetector] }));
  // The exporter reads its endpoint, headers and timeout, the provider its sampler
  // (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG) and the processor its batching (OTEL_BSP_*).
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  tracer = trace.getTracer('orders-service', version);
  return {
    shutdown: async ({ timeoutMs, logger }) => {
      tracer = undefined;
      // A collector that is down must neither hold the stop up nor fail it: the spans still
      // buffered are sent for `timeoutMs` at most, and what is lost is said in a line.
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      try {
        const outcome = await Promise.race([provider.shutdown().then(() => 'sent' as const), timedOut]);
        if (outcome === 'timeout')
          logger.warn('tracing_shutdown_incomplete', { reason: `spans not sent within ${timeoutMs} ms` });
      } catch (error) {
        logger.warn('tracing_shutdown_incomplete', { reason: error instanceof Error ? error.message : String(error) });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The tracer when tracing is on. */
export function activeTracer(): Tracer | undefined {
  return tracer;
}

/**
 * Marks the span failed and records the exception as the logs would show it: its message and
 * stack redacted (a token in a message never leaves in a span either).
 */
export function recordFailure(span: Span, error: unknown): void {
  const name = error instanceof Error ? error.name : 'Error';
  const message = redactString(error instanceof Error ? error.message : String(error));
  const stack = error instanceof Error && error.stack !== undefined ? redactString(error.stack) : undefined;
  span.recordException({ name, message, ...(stack === undefined ? {} : { stack }) });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * Runs `fn` in a span of its own, a child of the active one: ended when `fn` settles, failed
 * (status and redacted exception) when it throws. With tracing off, `fn` is called as it is.
 * What services call around work worth seeing in a trace (a gateway call, a webhook, a job).
 *
 * @example
 * const refund = await withSpan('stripe refund', { attributes: { 'payment.gateway': 'stripe' } }, () => call(request));
 */
export function withSpan<Result>(
  name: string,
  { attributes, kind = SpanKind.INTERNAL }: { attributes: Attributes; kind?: SpanKind },
  fn: (span: Span | undefined) => Promise<Result>,
): Promise<Result> {
  if (tracer === undefined) return fn(undefined);
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}
