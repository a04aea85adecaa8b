import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  context as otelContext,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
} from '@opentelemetry/api';
import type { AnyRouter } from '@trpc/server';
import type { RequestContext } from '../core/logging/request-context.ts';
import type { Metrics } from '../core/telemetry/metrics.ts';
import { activeTracer } from '../core/telemetry/tracing.ts';
import { readRequestTarget } from './rest/request-target.ts';
import { createRouteTable } from './rest/route-table.ts';

/** Methods named as they are; any other is `_OTHER` (OpenTelemetry's HTTP conventions): a label stays bounded. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * A request's route template, never its raw path: `/api/v1/orders/{id}`, `/trpc/v1.orders.get`
 * (a known procedure), `/trpc/{batch}` (several calls), `/trpc/{unknown}`, `/healthz`,
 * `/docs`, or `unmatched`. Worked out when the request ends, only when telemetry is on.
 */
export function createRouteLabeler(router: AnyRouter): (method: string, path: string) => string {
  const table = createRouteTable(router);
  const procedures = new Set(Object.keys(router._def.procedures as Record<string, unknown>));
  return (method, path) => {
    if (under(path, '/api')) {
      const found = table.match(method === 'HEAD' ? 'GET' : method, readRequestTarget(path.slice(4)).pathname);
      return found ? `/api${found.route.template}` : '/api/{unmatched}';
    }
    if (under(path, '/trpc')) {
      const names = path.slice('/trpc/'.length).replace(/\/+$/, '');
      if (names.includes(',')) return '/trpc/{batch}';
      return procedures.has(names) ? `/trpc/${names}` : '/trpc/{unknown}';
    }
    if (path === '/healthz' || path === '/readyz' || path === '/openapi.json') return path;
    if (under(path, '/docs')) return '/docs';
    if (under(path, '/panel')) return '/panel';
    return 'unmatched';
  };
}

/**
 * Starts what a request is observed by when tracing or metrics are on: the HTTP server span
 * (continuing a W3C `traceparent`/`tracestate` sent with it; its trace id goes back in a
 * `traceresponse` header and into the request's log lines) and, when it ends, the span's route
 * and status and the duration histogram. Returns the context the request runs in, or undefined
 * when it is not traced. Undefined itself when both are off: the app then calls nothing.
 */
export function createRequestTelemetry({ router, metrics }: { router: AnyRouter; metrics: Metrics | undefined }) {
  const tracer = activeTracer();
  if (tracer === undefined && metrics === undefined) return undefined;
  const routeOf = createRouteLabeler(router);

  return function observeRequest(
    req: IncomingMessage,
    res: ServerResponse,
    { context, path }: { context: RequestContext; path: string },
  ): Context | undefined {
    const started = performance.now();
    const method = KNOWN_METHODS.has(context.method) ? context.method : '_OTHER';
    let traced: Context | undefined;
    const span = tracer?.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': method,
          'url.path': context.path,
          'url.scheme': 'http',
          'client.address': context.ip,
          'network.protocol.version': req.httpVersion,
        },
      },
      (traced = propagation.extract(ROOT_CONTEXT, req.headers)),
    );
    if (span) {
      const { traceId, spanId, traceFlags } = span.spanContext();
      context.trace_id = traceId;
      context.span_id = spanId;
      // W3C Trace Context Level 2's response header: the caller learns the trace its request joined.
      res.setHeader('traceresponse', `00-${traceId}-${spanId}-0${traceFlags & 1}`);
      traced = trace.setSpan(traced as Context, span);
    }
    res.on('close', () => {
      const status = res.writableFinished ? res.statusCode : 499;
      const route = routeOf(context.method, path);
      metrics?.observeRequest({ method, route, status }, (performance.now() - started) / 1000);
      if (!span) return;
      span.updateName(`${method} ${route}`);
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', status);
      if (context.user_id !== null) span.setAttribute('enduser.id', context.user_id);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      if (status === 499) span.setAttribute('error.type', 'client_closed_request');
      span.end();
    });
    return span ? traced : undefined;
  };
}

/** Runs `fn` in the request's traced context (when there is one). */
export function inTraceContext<Result>(traced: Context | undefined, fn: () => Result): Result {
  return traced === undefined ? fn() : otelContext.with(traced, fn);
}
