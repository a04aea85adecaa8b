import { getTRPCErrorFromUnknown, TRPCError, type AnyTRPCProcedure } from '@trpc/server';
import { getParseFn, isObject, type Parser } from '@trpc/server/unstable-core-do-not-import';

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
type Middleware = ((options: MiddlewareOptions) => Promise<MiddlewareResult>) & { _type?: string };

/** What each middleware receives: the call options, the procedure's meta, and `next`. */
interface MiddlewareOptions extends ProcedureCallOptions {
  meta: unknown;
  next: (nextOptions?: NextOptions) => Promise<MiddlewareResult>;
}

interface ProcedureDef {
  middlewares?: Middleware[];
  meta?: unknown;
  caller?: unknown;
  inputs?: Parser[];
  output?: Parser;
  resolver?: (options: MiddlewareOptions) => unknown;
}

type ParseFn = (value: unknown) => unknown;

/**
 * A procedure's middlewares, and the end of the chain tRPC's builder made for it — its input
 * parsers, its output parser, its resolver — run as one step from `tailStart` (see runTail).
 */
interface Chain {
  middlewares: Middleware[];
  meta: unknown;
  tailStart: number;
  inputs: ParseFn[];
  output: ParseFn | undefined;
  resolver: (options: MiddlewareOptions) => unknown;
}

const MIDDLEWARE_MARKER = 'middlewareMarker';

const failed = (error: TRPCError) => ({ ok: false, error, marker: MIDDLEWARE_MARKER }) as MiddlewareResult;

/**
 * Where the steps tRPC's builder adds start: `.input()` steps, at most one `.output()`, then
 * the resolver, at the end and in that order, with every input of the procedure among them.
 * Any other shape (a `.use()` between them, two outputs) has no tail: every step runs on its own.
 */
function tailOf(def: ProcedureDef, middlewares: Middleware[]): { tailStart: number; hasOutput: boolean } {
  const none = { tailStart: -1, hasOutput: false };
  const resolverIndex = middlewares.length - 1;
  if (typeof def.resolver !== 'function' || middlewares[resolverIndex]?.name !== 'resolveMiddleware') return none;
  const types = middlewares.map((middleware) => middleware._type);
  const outputs = types.filter((type) => type === 'output').length;
  const hasOutput = outputs === 1 && types[resolverIndex - 1] === 'output' && def.output !== undefined;
  if (outputs > (hasOutput ? 1 : 0)) return none;
  const inputsEnd = hasOutput ? resolverIndex - 1 : resolverIndex;
  let tailStart = inputsEnd;
  while (types[tailStart - 1] === 'input') tailStart--;
  const inputsInChain = types.filter((type) => type === 'input').length;
  if (inputsEnd - tailStart !== inputsInChain || (def.inputs ?? []).length !== inputsInChain) return none;
  return { tailStart, hasOutput };
}

function chainOf(def: ProcedureDef): Chain | undefined {
  const middlewares = def.middlewares;
  if (def.caller || !Array.isArray(middlewares)) return undefined;
  const { tailStart, hasOutput } = tailOf(def, middlewares);
  return {
    middlewares,
    meta: def.meta,
    tailStart,
    inputs: tailStart < 0 ? [] : (def.inputs ?? []).map((parser) => getParseFn(parser)),
    output: hasOutput ? getParseFn(def.output as Parser) : undefined,
    resolver: def.resolver as Chain['resolver'],
  };
}

const chains = new WeakMap<ProcedureDef, Chain | null>();

function cachedChainOf(def: ProcedureDef): Chain | undefined {
  let chain = chains.get(def);
  if (chain === undefined) {
    chain = chainOf(def) ?? null;
    chains.set(def, chain);
  }
  return chain ?? undefined;
}

/**
 * The options of one step, written out key by key. tRPC builds them with `{ ...options, … }`;
 * on Node 20's V8 an object spread followed by more keys leaves the fast clone path and costs
 * about a microsecond each, and a call makes two per middleware. The keys and values are the
 * same as tRPC's (its options are exactly ProcedureCallOptions).
 */
function stepOptions(index: number, chain: Chain, options: ProcedureCallOptions): MiddlewareOptions {
  return {
    path: options.path,
    getRawInput: options.getRawInput,
    ctx: options.ctx,
    type: options.type,
    signal: options.signal,
    batchIndex: options.batchIndex,
    input: options.input,
    meta: chain.meta,
    next: (nextOptions?: NextOptions) => callFrom(index + 1, chain, nextStep(options, nextOptions)),
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
async function callFrom(index: number, chain: Chain, options: ProcedureCallOptions): Promise<MiddlewareResult> {
  if (index === chain.tailStart) return runTail(chain, options);
  try {
    const middleware = chain.middlewares[index] as Middleware;
    return await middleware(stepOptions(index, chain, options));
  } catch (cause) {
    return failed(getTRPCErrorFromUnknown(cause));
  }
}

/**
 * The end of the chain in one step, with the outcome tRPC's own middlewares give
 * (`createInputMiddleware`, `createOutputMiddleware`, the resolver's): each input parsed from
 * the raw input (a failure is BAD_REQUEST) and merged over the one before when both are
 * objects, the resolver called with the options its step would get, its result parsed by the
 * output parser (a failure is "Output validation failed"). Run as three chained steps, this
 * cost three promise pairs, three closures and tRPC's key-by-key copy of the result.
 */
async function runTail(chain: Chain, options: ProcedureCallOptions): Promise<MiddlewareResult> {
  try {
    let input = options.input;
    for (const parse of chain.inputs) {
      const rawInput = await options.getRawInput();
      let parsed: unknown;
      try {
        parsed = settled(parse(rawInput));
        if (parsed instanceof Promise) parsed = await parsed;
      } catch (cause) {
        throw new TRPCError({ code: 'BAD_REQUEST', cause });
      }
      input = isObject(input) && isObject(parsed) ? { ...input, ...parsed } : parsed;
    }
    const resolverIndex = chain.middlewares.length - 1;
    const resolverOptions = stepOptions(resolverIndex, chain, nextStep(options, { input }));
    let data = settled(chain.resolver(resolverOptions));
    if (data instanceof Promise) data = await data;
    if (chain.output) {
      try {
        data = settled(chain.output(data));
        if (data instanceof Promise) data = await data;
      } catch (cause) {
        throw new TRPCError({ message: 'Output validation failed', code: 'INTERNAL_SERVER_ERROR', cause });
      }
    }
    return { marker: MIDDLEWARE_MARKER, ok: true, data, ctx: options.ctx } as MiddlewareResult;
  } catch (cause) {
    return failed(getTRPCErrorFromUnknown(cause));
  }
}

/**
 * A value as `await` would see it: a foreign thenable becomes a promise, anything else stays
 * as it is, so a synchronous parser, resolver or createContext costs no promise and no turn
 * of the queue (await it only when it is a Promise).
 */
export function settled(value: unknown): unknown {
  if (value instanceof Promise || value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    return value;
  }
  return typeof (value as { then?: unknown }).then === 'function' ? Promise.resolve(value) : value;
}

/**
 * Calls a procedure the way calling it as a function does (`procedure(options)`): its
 * middlewares in order, each with `next`, the context merged at each `next({ ctx })`, the
 * error of a failed step returned up the chain and thrown at the end. tRPC's build copies
 * the options object through a helper that defines each key by hand, twice per middleware;
 * here each step's options are one object literal of fixed shape, and the steps tRPC's builder
 * added (inputs, output, resolver) run as one. A procedure with a caller override, or a shape
 * this does not know, is called through tRPC itself. The adapters' comparison tests
 * (`trpc/native-handler.test.ts`, `rest/native-handler.test.ts`) hold it to tRPC's behaviour.
 */
export async function callProcedure(procedure: AnyTRPCProcedure, options: ProcedureCallOptions): Promise<unknown> {
  const def = procedure._def as ProcedureDef;
  const chain = cachedChainOf(def);
  if (!chain) return (procedure as unknown as (o: ProcedureCallOptions) => Promise<unknown>)(options);
  const result = await callFrom(0, chain, options);
  if (!result) {
    throw new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message: 'No result from middlewares - did you forget to `return next()`?',
    });
  }
  if (!result.ok) throw result.error;
  return result.data;
}
