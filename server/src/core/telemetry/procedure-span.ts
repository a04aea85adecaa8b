import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { AppError } from '../errors.ts';
import { activeTracer, recordFailure } from './tracing.ts';

export interface ProcedureSpan {
  span: Span;
  /** `next`, run with this span active: the calls' SQL and gateway spans become its children. */
  around<Result>(next: () => Result): () => Result;
}

/**
 * The span of one procedure call (each call of a tRPC batch its own, a REST call too), after the
 * OpenTelemetry RPC conventions: `rpc.system` trpc, `rpc.method` the procedure. Undefined when
 * tracing is off.
 */
export function startProcedureSpan(procedure: string, type: string): ProcedureSpan | undefined {
  const tracer = activeTracer();
  if (tracer === undefined) return undefined;
  const span = tracer.startSpan(procedure, {
    kind: SpanKind.INTERNAL,
    attributes: { 'rpc.system': 'trpc', 'rpc.method': procedure, 'rpc.trpc.type': type },
  });
  const active = trace.setSpan(context.active(), span);
  return { span, around: (next) => () => context.with(active, next) };
}

/**
 * Ends the span with the call's outcome: its error code and status on failure. A server error
 * (5xx) marks the span failed, with the exception recorded as the logs show it (redacted); a
 * refusal (4xx) is the caller's, named by `error.type` but not an error of this span.
 */
export function endProcedureSpan(
  { span }: ProcedureSpan,
  outcome: { failure: AppError; error: unknown } | undefined,
): void {
  if (outcome === undefined) {
    span.setAttribute('rpc.response.status_code', 'OK');
  } else {
    const { failure, error } = outcome;
    span.setAttribute('rpc.response.status_code', failure.code);
    span.setAttribute('error.type', failure.code);
    span.setAttribute('http.response.status_code', failure.status);
    if (failure.status >= 500) {
      const original = error instanceof Error && error.cause !== undefined ? error.cause : error;
      recordFailure(span, original);
    } else {
      span.setStatus({ code: SpanStatusCode.UNSET });
    }
  }
  span.end();
}
