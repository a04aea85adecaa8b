import { context, createContextKey, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { callApi } from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { activeTracer } from './tracing.ts';

const { app } = useTestApp();

describe('tracing off (no OTLP endpoint)', () => {
  it('registers nothing: no tracer, no context manager, only the no-op API', () => {
    expect(activeTracer()).toBeUndefined();
    const key = createContextKey('probe');
    // With no context manager registered, a context set with `with` is not seen inside it.
    expect(context.with(ROOT_CONTEXT.setValue(key, 1), () => context.active().getValue(key))).toBeUndefined();
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
  });

  it('answers a request that carries a traceparent without a traceresponse, and its lines carry no trace', async () => {
    const res = await callApi(app.url, 'system.ping', {
      protocol: 'trpc',
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('traceresponse')).toBeNull();
    const lines = app.logs.lines.filter((line) => line.request_id === res.requestId);
    expect(lines.map((line) => line.event)).toEqual(['procedure_call', 'http_request']);
    for (const line of lines) {
      expect(line).not.toHaveProperty('trace_id');
      expect(line).not.toHaveProperty('span_id');
    }
  });
});
