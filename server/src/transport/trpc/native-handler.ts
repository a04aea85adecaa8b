import type { IncomingMessage, ServerResponse } from 'node:http';
import { getTRPCErrorFromUnknown, TRPCError, type AnyTRPCProcedure, type AnyTRPCRouter } from '@trpc/server';
import type { CreateHTTPHandlerOptions } from '@trpc/server/adapters/standalone';
import type { TRPCRequestInfo } from '@trpc/server/http';
import { CallInputs } from './call-inputs.ts';
import { createOfficialHTTPHandler } from './official-handler.ts';
import { callProcedure, settled } from '../procedure-call.ts';
import {
  ACCEPTED_METHOD,
  FALLBACK_ERROR_SHAPE,
  isDataStream,
  routerProtocol,
  streamInSingleResponseError,
  type Call,
  type CallOutcome,
  type ProcedureType,
  type ResponseItem,
  type RouterProtocol,
} from './protocol.ts';
import { planRequest, trimSlashes, type RequestPlan } from './request-plan.ts';
import { ResponseHeaders } from './response-headers.ts';

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  plan: RequestPlan;
  /** Refuses every call (the official adapter's `middleware` calling `next(error)`). */
  requestError: TRPCError | null;
}

interface ParsedRequest {
  info: TRPCRequestInfo;
  calls: Call[];
  type: ProcedureType | 'unknown';
}

/** The info createContext and responseMeta see: the signal never aborts and no URL is built (nothing here reads them). */
const NEVER_ABORTED = new AbortController().signal;

/**
 * tRPC's standalone adapter, served from node's own request and response: no Fetch
 * `Request`/`Response`, no web streams, no per-request abort signals, one `res.end`.
 * It speaks the same protocol byte for byte for JSON queries, mutations and batches
 * (`native-handler.test.ts` replays raw requests against both adapters and compares status,
 * headers, bodies and `onError` calls); anything else — HEAD and other methods, form data,
 * binary bodies, streaming, subscriptions, connection params, URLs that need real parsing —
 * goes to the official adapter, built from the same options, untouched.
 *
 * It reads tRPC internals (`router._def`, the procedure call signature): `@trpc/server` is
 * pinned exactly, and the comparison test fails loudly if an upgrade changes behaviour.
 */
export function createNativeHTTPHandler<TRouter extends AnyTRPCRouter>(opts: CreateHTTPHandlerOptions<TRouter>) {
  const official = createOfficialHTTPHandler(opts);
  const router = opts.router;
  const hasLazyRoutes = Object.keys(router._def.lazy).length > 0;
  const separator = (router._def._config as { pathSeparator?: string }).pathSeparator;
  if (hasLazyRoutes || (separator !== undefined && separator !== '.')) return official;

  const protocol = routerProtocol(router, opts);
  const procedures = router._def.procedures as Record<string, AnyTRPCProcedure | undefined>;
  const basePath = trimSlashes(opts.basePath ?? '/');
  const limits = { maxBodySize: opts.maxBodySize ?? null, maxBatchSize: opts.maxBatchSize };
  const allowBatching = opts.allowBatching ?? opts.batching?.enabled ?? true;
  const middleware: Middleware = (opts.middleware as Middleware | undefined) ?? ((_req, _res, next) => next());
  // tRPC types the context per router; here it is passed through untouched.
  const createContext = opts.createContext;

  /** tRPC's getRequestInfo for JSON requests: batch size, procedure lookup, mixed types. */
  function parseRequest({ req, plan }: Exchange): ParsedRequest {
    const isBatchCall = plan.query.get('batch') === '1';
    const paths = isBatchCall ? plan.path.split(',') : [plan.path];
    if (isBatchCall && typeof limits.maxBatchSize === 'number' && paths.length > limits.maxBatchSize) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'Batch call exceeds maximum size' });
    }
    const inputs = new CallInputs(
      { req, query: plan.query, isBatchCall, callCount: paths.length },
      { router, maxBodySize: limits.maxBodySize },
    );
    const calls = paths.map((path, index) => callOf(inputs, { path, index, procedure: procedures[path] ?? null }));
    const types = new Set<ProcedureType>();
    for (const call of calls) if (call.procedure) types.add(call.procedure._def.type);
    if (types.size > 1) {
      throw new TRPCError({
        code: 'BAD_REQUEST',
        message: `Cannot mix procedure types in call: ${[...types].join(', ')}`,
      });
    }
    const type = types.values().next().value ?? 'unknown';
    const info = { isBatchCall, accept: null, calls, type, connectionParams: null, signal: NEVER_ABORTED, url: null };
    return { info: info as unknown as TRPCRequestInfo, calls, type };
  }

  async function respond(exchange: Exchange): Promise<void> {
    const { req, res } = exchange;
    const headers = new ResponseHeaders();
    headers.set('vary', 'trpc-accept, accept');
    let parsed: ParsedRequest | undefined;
    let context: CallOutcome | undefined;
    try {
      parsed = parseRequest(exchange);
      if (parsed.calls.some((call) => call.procedure?._def.type === 'subscription')) {
        official(req, res);
        return;
      }
      if (parsed.info.isBatchCall && !allowBatching) {
        throw new TRPCError({ code: 'BAD_REQUEST', message: 'Batching is not enabled on the server' });
      }
      try {
        // Awaited only when it is a promise (or thenable): the service's createContext is synchronous.
        const created = settled(createContext?.({ req, res, info: parsed.info }));
        context = [undefined, created instanceof Promise ? await created : created];
      } catch (cause) {
        context = [getTRPCErrorFromUnknown(cause), undefined];
      }
      const outcomes = parsed.calls.map((call) =>
        runCall(call, { exchange, headers, context: context as CallOutcome, protocol }),
      );
      headers.set('content-type', 'application/json');
      const { json, errors } = parsed.info.isBatchCall
        ? batchBody(parsed, await Promise.all(outcomes), { ctx: context?.[1], protocol })
        : singleBody(parsed, await (outcomes[0] as Promise<CallOutcome>), { ctx: context?.[1], protocol });
      const status = protocol.statusOf(headers, { ctx: context?.[1], info: parsed.info, json, errors });
      write(res, { status, headers, body: protocol.serialize(json) });
    } catch (cause) {
      // Request-level failures, and results that cannot be serialised: one error object.
      const error = getTRPCErrorFromUnknown(cause);
      const shapeOptions = {
        ctx: context?.[1],
        input: undefined,
        path: undefined,
        type: parsed?.type ?? 'unknown',
      } as const;
      protocol.reportError({ error, req, ...shapeOptions });
      const json = { error: protocol.shapeOf(error, shapeOptions) };
      const status = protocol.statusOf(headers, { ctx: context?.[1], info: parsed?.info, json, errors: [error] });
      // A Fetch Response made from a string says text/plain unless a type was set.
      if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
      write(res, { status, headers, body: protocol.serialize(json) });
    }
  }

  return function handleTrpc(req: IncomingMessage, res: ServerResponse): void {
    const plan = planRequest(req, basePath);
    if (!plan) {
      official(req, res);
      return;
    }
    middleware(req, res, (error?: unknown) => {
      const requestError = error ? getTRPCErrorFromUnknown(error) : null;
      respond({ req, res, plan, requestError }).catch(answerUnexpected({ req, res, protocol }));
    });
  };
}

/**
 * One call of the request info. Its two functions are assigned, not written in the object
 * literal: tsx (esbuild's keepNames) wraps every closure that gets a name in a `__name` call,
 * about a microsecond each, which a request would pay per call.
 */
function callOf(
  inputs: CallInputs,
  { path, index, procedure }: { path: string; index: number; procedure: AnyTRPCProcedure | null },
): Call {
  const call = { batchIndex: index, path, procedure } as Call;
  call.getRawInput = () => inputs.read(index);
  call.result = () => inputs.result(index);
  return call;
}

/** One call, with the checks in tRPC's order: request error, unknown procedure, method, context. */
async function runCall(
  call: Call,
  {
    exchange: { req, requestError },
    headers,
    context,
    protocol,
  }: { exchange: Exchange; headers: ResponseHeaders; context: CallOutcome; protocol: RouterProtocol },
): Promise<CallOutcome> {
  try {
    if (requestError) throw requestError;
    const procedure = call.procedure;
    if (!procedure) throw new TRPCError({ code: 'NOT_FOUND', message: `No procedure found on path "${call.path}"` });
    const type = procedure._def.type;
    if (ACCEPTED_METHOD[type] !== req.method) {
      headers.set('allow', ACCEPTED_METHOD[type]);
      throw new TRPCError({
        code: 'METHOD_NOT_SUPPORTED',
        message: `Unsupported ${req.method}-request to ${type} procedure at path "${call.path}"`,
      });
    }
    const [contextError, ctx] = context;
    if (contextError) throw contextError;
    const data = await callProcedure(procedure, {
      path: call.path,
      getRawInput: call.getRawInput,
      ctx,
      type,
      signal: undefined,
      batchIndex: call.batchIndex,
    });
    return [undefined, data];
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    const type = call.procedure?._def.type ?? 'unknown';
    protocol.reportError({ error, req, path: call.path, input: call.result(), ctx: context[1], type });
    return [error, undefined];
  }
}

/** A single call answers with one object; a stream-like result fails the request (415). */
function singleBody(
  parsed: ParsedRequest,
  [error, data]: CallOutcome,
  { ctx, protocol }: { ctx: unknown; protocol: RouterProtocol },
) {
  const call = parsed.calls[0] as Call;
  if (!error && isDataStream(data)) throw streamInSingleResponseError();
  const json: ResponseItem = error
    ? { error: protocol.shapeOf(error, { ctx, input: call.result(), path: call.path, type: parsed.type }) }
    : { result: { data } };
  return { json, errors: error ? [error] : [] };
}

/** A batch answers with an array in call order; a stream-like result fails only its item. */
function batchBody(
  parsed: ParsedRequest,
  outcomes: CallOutcome[],
  { ctx, protocol }: { ctx: unknown; protocol: RouterProtocol },
) {
  const errors = outcomes.map(
    ([error, data]) => error ?? (isDataStream(data) ? streamInSingleResponseError() : undefined),
  );
  const json = outcomes.map(([, data], index): ResponseItem => {
    const error = errors[index];
    if (!error) return { result: { data } };
    const call = parsed.calls[index] as Call;
    const type = call.procedure?._def.type ?? 'unknown';
    return { error: protocol.shapeOf(error, { ctx, input: call.result(), path: call.path, type }) };
  });
  return { json, errors };
}

/**
 * As the official adapter writes its Fetch Response: a status already set on `res` wins. A
 * response the server gave already (a 408 to a body that did not arrive in time) is left as it is.
 */
function write(
  res: ServerResponse,
  { status, headers, body }: { status: number; headers: ResponseHeaders; body: string },
): void {
  if (res.headersSent) return;
  if (res.statusCode === 200) res.statusCode = status;
  headers.applyTo(res);
  res.end(body);
}

/** What the official adapter answers when handling itself throws: a bare error shape. */
function answerUnexpected({
  req,
  res,
  protocol,
}: {
  req: IncomingMessage;
  res: ServerResponse;
  protocol: RouterProtocol;
}) {
  return (cause: unknown) => {
    const error = getTRPCErrorFromUnknown(cause);
    const shapeOptions = { ctx: undefined, input: undefined, path: undefined, type: 'unknown' } as const;
    let shape: unknown;
    try {
      shape = protocol.shapeOf(error, shapeOptions);
    } catch {
      shape = FALLBACK_ERROR_SHAPE;
    }
    protocol.reportError({ error, req, ...shapeOptions });
    if (res.headersSent) {
      res.end();
      return;
    }
    res.statusCode = (shape as { data: { httpStatus: number } }).data.httpStatus;
    res.end(protocol.serialize({ error: shape }));
  };
}
