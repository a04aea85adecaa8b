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
type Middleware = (options: Record<string, unknown>) => Promise<MiddlewareResult>;

interface ProcedureDef {
  middlewares?: Middleware[];
  meta?: unknown;
  caller?: unknown;
}

const MIDDLEWARE_MARKER = 'middlewareMarker';

/** One step of the chain, as tRPC 11.25's `callRecursive` (initTRPC) runs it. */
async function callFrom(
  index: number,
  def: Required<Pick<ProcedureDef, 'middlewares'>> & ProcedureDef,
  options: ProcedureCallOptions,
): Promise<MiddlewareResult> {
  try {
    const middleware = def.middlewares[index] as Middleware;
    return await middleware({
      ...options,
      meta: def.meta,
      input: options.input,
      next(nextOptions?: { ctx?: object; input?: unknown; getRawInput?: () => Promise<unknown> }) {
        return callFrom(index + 1, def, {
          ...options,
          ctx: nextOptions?.ctx ? { ...(options.ctx as object), ...nextOptions.ctx } : options.ctx,
          input: nextOptions && 'input' in nextOptions ? nextOptions.input : options.input,
          getRawInput: nextOptions?.getRawInput ?? options.getRawInput,
        });
      },
    });
  } catch (cause) {
    return { ok: false, error: getTRPCErrorFromUnknown(cause), marker: MIDDLEWARE_MARKER } as MiddlewareResult;
  }
}

/**
 * Calls a procedure the way calling it as a function does (`procedure(options)`): its
 * middlewares in order, each with `next`, the context merged at each `next({ ctx })`, the
 * error of a failed step returned up the chain and thrown at the end. tRPC's build copies
 * the options object through a helper that defines each key by hand, twice per middleware;
 * with native spreads this step costs a fraction. A procedure with a caller override, or a
 * shape this does not know, is called through tRPC itself. The adapters' comparison tests
 * (`trpc-native/handler.test.ts`, `rest/native-handler.test.ts`) hold it to tRPC's behaviour.
 */
export async function callProcedure(procedure: AnyTRPCProcedure, options: ProcedureCallOptions): Promise<unknown> {
  const def = procedure._def as ProcedureDef;
  if (def.caller || !Array.isArray(def.middlewares))
    return (procedure as unknown as (o: ProcedureCallOptions) => Promise<unknown>)(options);
  const result = await callFrom(0, def as Required<Pick<ProcedureDef, 'middlewares'>> & ProcedureDef, options);
  if (!result) {
    throw new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message: 'No result from middlewares - did you forget to `return next()`?',
    });
  }
  if (!result.ok) throw result.error;
  return result.data;
}
