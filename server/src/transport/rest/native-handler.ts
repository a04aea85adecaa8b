import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError, type AnyRouter } from '@trpc/server';
import { AppError } from '../../core/errors.ts';
import { readJsonBody } from '../../core/http/json-body.ts';
import { createContextFactory, type RequestDeps } from '../../api/context.ts';
import { appErrorOf } from '../../api/trpc-errors.ts';
import { callProcedure } from '../procedure-call.ts';
import { refuseBody } from './error-body.ts';
import { bodyInput, queryInput } from './input-plan.ts';
import { METHODS_WITH_BODY } from './methods-with-body.ts';
import { readRequestTarget } from './request-target.ts';
import { createRouteTable } from './route-table.ts';

/**
 * The procedure's raw input, as a function made here: a closure written in the call's object
 * literal would be named, and tsx (esbuild's keepNames) wraps each named closure in a
 * `__name` call, about a microsecond per request.
 */
function rawInputOf(input: unknown): () => Promise<unknown> {
  return () => Promise.resolve(input);
}

/** trpc-to-openapi's answers carry this Content-Type, successes and procedure errors alike. */
const JSON_CONTENT_TYPE = 'application/json';

function writeJson(res: ServerResponse, status: number, payload: string): void {
  res.writeHead(status, { 'Content-Type': JSON_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** A failure as its AppError carries it: the envelope at its status (its headers were set when the procedure failed). */
function writeError(res: ServerResponse, failure: AppError): void {
  writeJson(res, failure.status, JSON.stringify(failure.envelope));
}

/** trpc-to-openapi's reading of a failure: a TRPCError as it is, anything else a generic 500. */
function asTrpcError(cause: unknown): TRPCError {
  if (cause instanceof Error && cause.name === 'TRPCError') return cause as TRPCError;
  const error = new TRPCError({
    code: 'INTERNAL_SERVER_ERROR',
    message: 'Internal server error',
    ...(cause instanceof Error ? { cause } : {}),
  });
  if (cause instanceof Error && cause.stack) error.stack = cause.stack;
  return error;
}

/**
 * REST over the same procedures without trpc-to-openapi's per-request machinery (a Fetch
 * Request, two URL parses, a regex scan of every route, schema coercion re-run and mutated,
 * a caller proxy): the route table and each route's input plan are built once at start, the
 * procedure is called directly, and the answer written once. Every answer is the one
 * trpc-to-openapi behind `official-handler.ts` gives (status, Content-Type, body); the
 * comparison test (`native-handler.test.ts`) holds them side by side.
 */
export function createNativeRestHandler(deps: RequestDeps & { appRouter: AnyRouter; basePath: string }) {
  const createContext = createContextFactory(deps);
  const table = createRouteTable(deps.appRouter);
  const maxBodyBytes = deps.config.http.maxBodyBytes;
  const exposeInternalMessage = deps.config.localDevelopment;

  return async function handleRest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const target = readRequestTarget((req.url ?? '/').slice(deps.basePath.length));
    // HEAD is GET without the body (RFC 9110); node sends no body for a HEAD response.
    const found = table.match(method === 'HEAD' ? 'GET' : method, target.pathname);
    if (!found) {
      // A request no route matches is 404 whatever its body, so the body is not read.
      writeError(res, new AppError('NOT_FOUND', 'Not found'));
      return;
    }
    const { route, params } = found;

    let body: unknown;
    if (METHODS_WITH_BODY.has(method)) {
      try {
        body = await readJsonBody(req, maxBodyBytes);
      } catch (error) {
        refuseBody(res, error);
        return;
      }
    }
    // A DELETE's body is checked above but, as in trpc-to-openapi, its input is the query.
    const input = route.inputFromBody
      ? bodyInput(route.input, body, params)
      : queryInput(route.input, target.query, params);

    try {
      const data = await callProcedure(route.procedure, {
        path: route.path,
        getRawInput: rawInputOf(input),
        ctx: createContext({ req, res }),
        type: route.type,
        signal: undefined,
        batchIndex: 0,
      });
      writeJson(res, 200, JSON.stringify(data) ?? '');
    } catch (cause) {
      writeError(res, appErrorOf(asTrpcError(cause), { exposeInternalMessage }));
    }
  };
}
