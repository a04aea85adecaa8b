import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { recordFailure } from './tracing.ts';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJlLW9mLWEtdG9rZW4';

describe('recordFailure', () => {
  it('marks the span failed and records the exception redacted as the logs are', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const span = provider.getTracer('test').startSpan('v1.orders.get');
    const error = new TypeError(`token ${TOKEN} was refused`);
    recordFailure(span, error);
    span.end();

    const [finished] = exporter.getFinishedSpans();
    expect(finished?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'token [REDACTED] was refused' });
    const attributes = finished?.events.find((event) => event.name === 'exception')?.attributes;
    expect(attributes).toMatchObject({
      'exception.type': 'TypeError',
      'exception.message': 'token [REDACTED] was refused',
    });
    expect(String(attributes?.['exception.stacktrace'])).toContain('record-failure.test.ts');
    expect(JSON.stringify(finished?.events)).not.toContain(TOKEN);
  });
});
