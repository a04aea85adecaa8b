import type { ErrorCode } from '@orders/shared';
import type { TRPCError } from '@trpc/server';
import type { Logger } from '../core/logging/logger.ts';
import { runInProcedure } from '../core/logging/request-context.ts';
import { endProcedureSpan, startProcedureSpan } from '../core/telemetry/procedure-span.ts';
import { t } from './init.ts';
import { appErrorOf, toTrpcError } from './trpc-errors.ts';

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let cause = error instanceof Error ? error.cause : undefined;
  while (cause !== undefined && chain.length < 10) {
    chain.push(cause);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return chain;
}

async function logUnhandledException(
  logger: Logger,
  {
    error,
    procedure,
    type,
    getRawInput,
  }: { error: TRPCError; procedure: string; type: string; getRawInput: () => Promise<unknown> },
) {
  const original = error.cause ?? error;
  logger.error('unhandled_exception', {
    procedure,
    type,
    error: {
      name: original.name,
      message: original.message,
      stack: original.stack,
    },
    cause_chain: causeChain(original),
    input: await getRawInput().catch(() => '[unreadable input]'),
  });
}

/**
 * A failed call is ours (ERROR); a refused one the caller's problem (WARN); one whose caller
 * hung up before sending it whole nobody's (INFO).
 */
function levelOf(code: ErrorCode, status: number): 'error' | 'warn' | 'info' {
  if (status >= 500) return 'error';
  return code === 'CLIENT_CLOSED_REQUEST' ? 'info' : 'warn';
}

/**
 * Outermost middleware of every procedure, on both protocols and for each call of a batch:
 * runs the call with `procedure` in the request context, turns its failure into the AppError
 * it answers with (the one thrown, or the one `appErrorOf` makes), sets that error's response
 * headers, writes `procedure_call`, and `unhandled_exception` (stack, cause chain, redacted
 * input) for anything that is not an AppError.
 */
export const logProcedureCall = t.middleware(async ({ ctx, path, type, next, getRawInput }) => {
  const started = performance.now();
  // A span of its own per call (each call of a batch) when tracing is on; undefined otherwise.
  const span = startProcedureSpan(path, type);
  const result = await ctx.work.track(runInProcedure(path, span === undefined ? next : span.around(next)));
  const duration = Math.round((performance.now() - started) * 100) / 100;

  if (result.ok) {
    if (span !== undefined) endProcedureSpan(span, undefined);
    // Written out rather than spread: see stepOptions in procedure-call.ts.
    ctx.logger.info('procedure_call', { procedure: path, type, duration_ms: duration, ok: true, code: null });
    return result;
  }
  const fields = { procedure: path, type, duration_ms: duration };
  const failure = appErrorOf(result.error, { exposeInternalMessage: ctx.config.localDevelopment });
  for (const [name, value] of Object.entries(failure.headers)) ctx.setHeader(name, value);
  const { code, status } = failure;
  if (span !== undefined) endProcedureSpan(span, { failure, error: result.error });
  // An error tRPC made (bad input, an unexpected failure) rather than one our code threw.
  const madeByTrpc = failure.cause === result.error;
  ctx.logger[levelOf(code, status)]('procedure_call', {
    ...fields,
    ok: false,
    code,
    status,
    // The log says what an unexpected failure was, whatever the client is told.
    reason: madeByTrpc && code === 'INTERNAL' ? `Internal error: ${result.error.message}` : failure.message,
    ...(failure.context ? { context: failure.context } : {}),
  });
  if (code === 'INTERNAL') {
    await logUnhandledException(ctx.logger, { error: result.error, procedure: path, type, getRawInput });
  }
  // What tRPC made goes on as it is; what our code threw, or a lost database, travels as the
  // tRPC code its own code names.
  if (madeByTrpc) return result;
  throw toTrpcError(failure);
});
