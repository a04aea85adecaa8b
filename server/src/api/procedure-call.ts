import { getTRPCErrorFromUnknown, TRPCError, type AnyTRPCProcedure } from '@trpc/server';

/** What a procedure is called with (tRPC's ProcedureCallOptions). */
export interface ProcedureCallOptions {
  path: string;
  getRawInput: () => Promise<unknown>;
  ctx: unknown;
  type: 'query' | 'mutation' | 'subscription';
  signal: AbortSignal | undefined;
  batchIndex: number;
  input?: unknown;
}

type MiddlewareResult = { ok: true; data: unknown } | { ok: false; error: TRPCError };
type NextOptions = { ctx?: object; input?: unknown; getRawInput?: () => Promise<unknown> } | undefined;
type Middleware = (options: MiddlewareOptions) => Promise<MiddlewareResult>;

/** What each middleware receives: the call options, the procedure's meta, and `next`. */
interface MiddlewareOptions extends ProcedureCallOptions {
  meta: unknown;
  next: (nextOptions?: NextOptions) => Promise<MiddlewareResult>;
}

interface ProcedureDef {
  middlewares?: Middleware[];
  meta?: unknown;
  caller?: unknown;
}

type ChainDef = Required<Pick<ProcedureDef, 'middlewares'>> & ProcedureDef;

const MIDDLEWARE_MARKER = 'middlewareMarker';

/**
 * The options of one step, written out key by key. tRPC builds them with `{ ...options, … }`;
 * on Node 20's V8 an object spread followed by more keys leaves the fast clone path and costs
 * about a microsecond each, and a call makes two per middleware. The keys and values are the
 * same as tRPC's (its options are exactly ProcedureCallOptions).
 */
function stepOptions(index: number, def: ChainDef, options: ProcedureCallOptions): MiddlewareOptions {
  return {
    path: options.path,
    getRawInput: options.getRawInput,
    ctx: options.ctx,
    type: options.type,
    signal: options.signal,
    batchIndex: options.batchIndex,
    input: options.input,
    meta: def.meta,
    next: (nextOptions?: NextOptions) => callFrom(index + 1, def, nextStep(options, nextOptions)),
  };
}

/** The options the next step is called with: a context merged with `next({ ctx })`, a new input or raw input. */
function nextStep(options: ProcedureCallOptions, nextOptions: NextOptions): ProcedureCallOptions {
  return {
    path: options.path,
    getRawInput: nextOptions?.getRawInput ?? options.getRawInput,
    ctx: nextOptions?.ctx ? Object.assign({}, options.ctx, nextOptions.ctx) : options.ctx,
    type: options.type,
    signal: options.signal,
    batchIndex: options.batchIndex,
    input: nextOptions && 'input' in nextOptions ? nextOptions.input : options.input,
  };
}

/** One step of the chain, as tRPC 11.25's `callRecursive` (initTRPC) runs it. */
async function callFrom(index: number, def: ChainDef, options: ProcedureCallOptions): Promise<MiddlewareResult> {
  try {
    const middleware = def.middlewares[index] as Middleware;
    return await middleware(stepOptions(index, def, options));
  } catch (cause) {
    return { ok: false, error: getTRPCErrorFromUnknown(cause), marker: MIDDLEWARE_MARKER } as MiddlewareResult;
  }
}

/**
 * Calls a procedure the way calling it as a function does (`procedure(options)`): its
 * middlewares in order, each with `next`, the context merged at each `next({ ctx })`, the
 * error of a failed step returned up the chain and thrown at the end. tRPC's build copies
 * the options object through a helper that defines each key by hand, twice per middleware;
 * here each step's options are one object literal of fixed shape. A procedure with a caller
 * override, or a shape this does not know, is called through tRPC itself. The adapters'
 * comparison tests (`trpc-native/handler.test.ts`, `rest/native-handler.test.ts`) hold it
 * to tRPC's behaviour.
 */
export async function callProcedure(procedure: AnyTRPCProcedure, options: ProcedureCallOptions): Promise<unknown> {
  const def = procedure._def as ProcedureDef;
  if (def.caller || !Array.isArray(def.middlewares))
    return (procedure as unknown as (o: ProcedureCallOptions) => Promise<unknown>)(options);
  const result = await callFrom(0, def as ChainDef, options);
  if (!result) {
    throw new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message: 'No result from middlewares - did you forget to `return next()`?',
    });
  }
  if (!result.ok) throw result.error;
  return result.data;
}
