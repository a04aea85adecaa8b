import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnyRouter } from '@trpc/server';
import type { AppError } from '../../core/errors.ts';
import { readJsonBody } from '../../core/http/json-body.ts';
import { splitRequestUrl } from '../../core/http/request-url.ts';
import { createContextFactory, type RequestDeps } from '../../api/context.ts';
import { appErrorOf } from '../../api/trpc-errors.ts';
import { keepBodyInputsStrict } from './official-input-coercion.ts';
import { refuseBody } from './error-body.ts';
import { METHODS_WITH_BODY } from './methods-with-body.ts';
import { openApiProceduresOf } from './openapi-procedures.ts';
import type { AppRouter } from '../../api/router.ts';

/**
 * Whether a procedure answers `method path` (a path under the base path): a request no route
 * matches is 404 whatever its body, so its body is not read (and refused) first.
 */
function routeMatcher(router: AnyRouter): (method: string, path: string) => boolean {
  const routes = openApiProceduresOf(router).map(({ openapi }) => {
    const template = openapi.path.replace(/[.*+?^$|()[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+');
    return { method: openapi.method, pattern: new RegExp(`^${template}/?$`) };
  });
  return (method, path) => routes.some((route) => route.method === method && route.pattern.test(path));
}

/**
 * The query string as trpc-to-openapi reads it (`{ name: [values] }`), built here: its own
 * parser collects values in a plain object, so `?__proto__=x` or `?constructor=x` reach an
 * inherited property instead of an array and the request fails with a 500.
 */
function queryOf(url: string): Record<string, string[]> {
  const query: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [key, value] of new URL(url, 'http://localhost').searchParams) (query[key] ??= []).push(value);
  return query;
}

/**
 * REST over the same procedures, through trpc-to-openapi's node handler (`HTTP_ADAPTER=official`;
 * `native-handler.ts` serves the default). Only this handler turns on trpc-to-openapi's
 * schema coercion, so it is created only when selected. The body is read
 * here first (its own reader answers malformed JSON with 500 and ignores JSON sent with a
 * charset), so bad JSON is 400, a wrong content type 415 and a large body 413, in our envelope.
 */
export function createOfficialRestHandler(deps: RequestDeps & { appRouter: AppRouter; basePath: string }) {
  const createContext = createContextFactory(deps);
  const hasRoute = routeMatcher(deps.appRouter);
  keepBodyInputsStrict(deps.appRouter);
  /** The AppError each failed request answers with, kept from trpc-to-openapi's onError for its answer. */
  const failures = new WeakMap<IncomingMessage, AppError>();
  const exposeInternalMessage = deps.config.localDevelopment;
  // Loaded with this handler only: a server on the native handler does not carry trpc-to-openapi.
  const openApiHandler = import('trpc-to-openapi').then(({ createOpenApiNodeHttpHandler }) =>
    createOpenApiNodeHttpHandler({
      router: deps.appRouter,
      createContext,
      maxBodySize: deps.config.http.maxBodyBytes,
      onError: ({ error, req }) => failures.set(req, appErrorOf(error, { exposeInternalMessage })),
    }),
  );
  openApiHandler.catch(() => undefined);

  return async function handleRest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = splitRequestUrl(req.url ?? '/').path.slice(deps.basePath.length);
    if (METHODS_WITH_BODY.has(method) && hasRoute(method, path)) {
      try {
        const body = await readJsonBody(req, deps.config.http.maxBodyBytes);
        Object.assign(req, { body: body ?? {} });
      } catch (error) {
        refuseBody(res, error);
        return;
      }
      // The body is parsed: trpc-to-openapi must not insist on a content type for it again.
      req.headers['content-type'] = 'application/json';
    }
    // trpc-to-openapi answers every HEAD with an empty 204, route or not. HEAD is GET without
    // the body (RFC 9110), and Node sends no body for a HEAD response: serve it as that GET.
    if (req.method === 'HEAD') req.method = 'GET';
    req.url = (req.url ?? '/').slice(deps.basePath.length) || '/';
    Object.assign(req, { query: queryOf(req.url) });

    // trpc-to-openapi writes its own error body (our tRPC error shape, `code` overwritten with
    // tRPC's code name): the answer is the failure's envelope, at its status, instead.
    const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
    res.end = ((chunk?: unknown) => {
      const failure = failures.get(req);
      if (failure === undefined) return end(chunk);
      res.statusCode = failure.status;
      return end(JSON.stringify(failure.envelope));
    }) as typeof res.end;

    const handle = await openApiHandler;
    await handle(req, res);
  };
}
