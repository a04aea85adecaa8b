import type { IncomingMessage, ServerResponse } from 'node:http';
import { createContextFactory, type AppDeps, type RequestDeps } from './api/context.ts';
import { shownText } from './api/shown-text.ts';
import { toTrpcError } from './api/trpc-errors.ts';
import { createPanel } from './transport/docs/panel.ts';
import { serveAccountPage } from './transport/account-pages.ts';
import { createOfficialRestHandler } from './transport/rest/official-handler.ts';
import { createNativeRestHandler } from './transport/rest/native-handler.ts';
import { createNativeHTTPHandler } from './transport/trpc/native-handler.ts';
import { createOfficialHTTPHandler } from './transport/trpc/official-handler.ts';
import { appRouter } from './api/router.ts';
import { logAccessWhenDone } from './core/http/access-log.ts';
import { createClientIpResolver } from './core/http/client-ip.ts';
import { applyCors } from './core/http/cors.ts';
import { declaresBodyOver, payloadTooLarge } from './core/http/json-body.ts';
import { resolveRequestId } from './core/http/request-id.ts';
import { splitRequestUrl } from './core/http/request-url.ts';
import { ACCOUNT_PAGES_CSP, DOCS_CSP, PANEL_CSP, setSecurityHeaders } from './core/http/security-headers.ts';
import { sendError, sendJson } from './core/http/send.ts';
import { AppError } from './core/errors.ts';
import { createSwaggerUi } from './transport/docs/swagger-ui.ts';
import { createRateLimiter } from './core/rate-limit.ts';
import type { Readiness } from './core/db/readiness.ts';
import { createTokenService } from './core/security.ts';
import { createWorkTracker } from './core/work-tracker.ts';
import { createStripeWebhookHandler } from './transport/webhooks/stripe-webhook.ts';
import { createMailer } from './core/mail/mailer.ts';
import { createCursorCodec } from './services/orders/index.ts';
import { createPaymentGateway, type PaymentGateway } from './services/payment-gateway/index.ts';
import { redactString } from './core/logging/redact.ts';
import { runWithRequestContext, type RequestContext } from './core/logging/request-context.ts';
import type { Metrics } from './core/telemetry/metrics.ts';
import { observedGateway } from './services/payment-gateway/observed-gateway.ts';
import { createRequestTelemetry, inTraceContext } from './transport/request-telemetry.ts';

export interface AppOptions extends AppDeps {
  checkReadiness: () => Promise<Readiness>;
  version: string;
  /** Another payment gateway than PAYMENT_GATEWAY names (tests count or stall charges). */
  gateway?: PaymentGateway;
  /** The Prometheus series, when METRICS_PORT is set. */
  metrics?: Metrics | undefined;
  /** Shorter waits between mail retries than the defaults (tests of a failing SMTP server). */
  mailRetryDelaysMs?: readonly number[];
}

const VARY_ORIGIN = Object.freeze({ headers: Object.freeze({ vary: ['Origin'] }) });

/**
 * The OpenAPI document as JSON, generated on its first request and kept: its generator
 * (trpc-to-openapi, zod-openapi) and its building cost about 20 MB of memory that a server
 * answering only the API would carry for nothing. The REST handler needs none of it.
 */
function lazyOpenApiJson(version: string): () => Promise<string> {
  let json: Promise<string> | undefined;
  return () =>
    (json ??= import('./transport/docs/openapi.ts').then(({ createOpenApiDocument }) =>
      JSON.stringify(createOpenApiDocument(appRouter, version)),
    ));
}

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * The one request handler: tRPC at /trpc, REST at /api, the OpenAPI document, Swagger UI
 * at /docs, the tRPC panel at /panel, and health probes. Every request gets a request id,
 * security headers, CORS, a request context for its log lines, and an access line.
 */
export function createApp(options: AppOptions) {
  const { config, logger } = options;
  const work = createWorkTracker();
  const deps: RequestDeps = {
    ...options,
    tokens: createTokenService(config.jwt),
    rateLimiter: createRateLimiter(options.db, { windowSeconds: config.rateLimit.windowSeconds }),
    gateway: observedGateway(
      options.gateway ?? createPaymentGateway(config.paymentGateway, options.db),
      options.metrics,
    ),
    cursors: createCursorCodec(config.jwt.secret),
    work,
    mailer: createMailer({
      config: config.mail,
      logger,
      work,
      ...(options.mailRetryDelaysMs ? { retryDelaysMs: options.mailRetryDelaysMs } : {}),
    }),
  };
  const openApiJson = lazyOpenApiJson(options.version);
  const createTrpcHandler = config.http.adapter === 'native' ? createNativeHTTPHandler : createOfficialHTTPHandler;
  const trpc = createTrpcHandler({
    router: appRouter,
    basePath: '/trpc/',
    createContext: createContextFactory(deps, 'trpc'),
    maxBodySize: config.http.maxBodyBytes,
    maxBatchSize: config.http.maxBatchSize,
    // tRPC reads a body only when a call needs it: a large body sent to a query would be drained
    // and answered 405. A body declared over the limit is refused first, 413 on every call, as on REST.
    middleware: (req, res, next) => {
      if (!declaresBodyOver(req, config.http.maxBodyBytes)) {
        next();
        return;
      }
      const refusal = payloadTooLarge(config.http.maxBodyBytes);
      for (const [name, value] of Object.entries(refusal.headers)) res.setHeader(name, value);
      next(toTrpcError(refusal));
    },
    // tRPC writes its own Vary, replacing the `Vary: Origin` that CORS set: add it back, or a
    // cache could hand one origin's answer (with its Access-Control-Allow-Origin) to another.
    // An array value is appended (a string would replace tRPC's own Vary); one constant object,
    // not a Fetch Headers per request.
    responseMeta: () => VARY_ORIGIN,
  });
  const createRest = config.http.adapter === 'native' ? createNativeRestHandler : createOfficialRestHandler;
  const rest = createRest({ ...deps, appRouter, basePath: '/api' });
  const docs = createSwaggerUi({ basePath: '/docs', openApiUrl: '/openapi.json' });
  const panel = config.panelEnabled ? createPanel(appRouter, { basePath: '/panel', trpcUrl: '/trpc' }) : undefined;
  const clientIp = createClientIpResolver(config.http.trustProxy);
  // Undefined when neither tracing nor metrics is on: a request then pays nothing for them.
  const observeRequest = createRequestTelemetry({ router: appRouter, metrics: options.metrics });
  const stripeWebhook = createStripeWebhookHandler({
    ...deps,
    gatewayTimeoutMs: config.paymentGateway.timeoutMs,
    webhookSecret: config.stripeWebhookSecret,
    maxBodyBytes: config.http.maxBodyBytes,
  });

  /** The API's two protocols are dispatched at once (tRPC answers without a promise of ours). */
  function route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> | void {
    if (under(path, '/trpc')) return trpc(req, res);
    if (under(path, '/api')) return rest(req, res);
    return routeOther(req, res, path);
  }

  async function routeOther(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    // Its applying runs to the end even if Stripe hangs up, and shutdown waits for it.
    if (path === '/webhooks/stripe') return deps.work.track(stripeWebhook(req, res));
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (path === '/healthz') return sendJson(res, { status: 200, body: { status: 'ok' } });
      if (path === '/readyz') {
        const readiness = await options.checkReadiness();
        const body = { status: readiness.ready ? 'ready' : 'not_ready', ...readiness };
        return sendJson(res, { status: readiness.ready ? 200 : 503, body });
      }
      if (path === '/openapi.json') {
        const json = await openApiJson();
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache' });
        res.end(json);
        return;
      }
      if (under(path, '/docs')) {
        res.setHeader('Content-Security-Policy', DOCS_CSP);
        if (await docs(res, path.slice('/docs'.length))) return;
      }
      if (under(path, '/account')) {
        res.setHeader('Content-Security-Policy', ACCOUNT_PAGES_CSP);
        if (serveAccountPage(res, path.slice('/account'.length))) return;
      }
      if (panel && under(path, '/panel')) {
        res.setHeader('Content-Security-Policy', PANEL_CSP);
        if (await panel(res, path.slice('/panel'.length))) return;
      }
    }
    sendError(res, new AppError('ROUTE_NOT_FOUND', `No route for ${req.method ?? 'GET'} ${shownText(path)}`));
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const incomingId = req.headers['x-request-id'];
    const path = splitRequestUrl(req.url ?? '/').path;
    const context: RequestContext = {
      request_id: resolveRequestId(Array.isArray(incomingId) ? incomingId[0] : incomingId),
      method: req.method ?? 'GET',
      // As every line shows it: a token pasted into a path is not written out.
      path: redactString(path),
      ip: clientIp(req),
      user_id: null,
      role: null,
    };
    res.setHeader('X-Request-Id', context.request_id);
    setSecurityHeaders(res);
    const traced = observeRequest?.(req, res, { context, path });
    logAccessWhenDone(res, { logger, context });
    if (applyCors(req, res, config.http.corsOrigins)) return;

    let routed: Promise<void> | void;
    try {
      routed =
        traced === undefined
          ? runWithRequestContext(context, () => route(req, res, path))
          : inTraceContext(traced, () => runWithRequestContext(context, () => route(req, res, path)));
    } catch (error) {
      failRequest(res, { error, context });
      return;
    }
    routed?.catch((error: unknown) => failRequest(res, { error, context }));
  }

  /**
   * What escapes a route: logged with its stack, a 500 envelope if the answer has not started.
   * The line and the answer name the request's context: a rejection is handled outside the
   * request's async scope.
   */
  function failRequest(res: ServerResponse, { error, context }: { error: unknown; context: RequestContext }): void {
    logger.error('unhandled_exception', { error, where: 'http' }, { context });
    if (!res.headersSent) {
      runWithRequestContext(context, () => sendError(res, new AppError('INTERNAL', 'Internal server error')));
    } else {
      res.destroy();
    }
  }

  /** Waits for procedure calls still running (their clients may have gone) before the database closes. */
  const drain = (timeoutMs: number) => deps.work.drained(timeoutMs);
  return Object.assign(handleRequest, { drain });
}
