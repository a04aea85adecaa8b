import { UNSTORABLE_TEXT_MESSAGE, type ErrorCode } from '@orders/shared';
import type { TRPCError } from '@trpc/server';
import { isDatabaseUnavailable, isUnstorableText } from '../core/db/database-errors.ts';
import { AppError } from '../core/errors.ts';
import type { Logger } from '../core/logging/logger.ts';
import { runInProcedure } from '../core/logging/request-context.ts';
import { bearerChallenge } from './auth-middleware.ts';
import { httpStatusOf, toErrorEnvelope, toTrpcError } from './error-envelope.ts';
import { t } from './init.ts';

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
 * The AppError a failure stands for: the one thrown, DATABASE_UNAVAILABLE for a lost database,
 * or VALIDATION_FAILED for text the database refused to store.
 */
function asAppError(cause: unknown): AppError | undefined {
  if (cause instanceof AppError) return cause;
  if (isUnstorableText(cause)) {
    return new AppError('VALIDATION_FAILED', `Invalid input: text ${UNSTORABLE_TEXT_MESSAGE}`, {
      context: { error: cause instanceof Error ? cause.message : String(cause) },
      cause,
    });
  }
  if (isDatabaseUnavailable(cause)) {
    return new AppError('DATABASE_UNAVAILABLE', 'The database is not reachable right now; try again shortly', {
      headers: { 'Retry-After': '5' },
      context: { error: cause instanceof Error ? cause.message : String(cause) },
      cause,
    });
  }
  return undefined;
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
 * runs the call with `procedure` in the request context, turns an AppError into the tRPC
 * error its code names, writes `procedure_call`, and `unhandled_exception` (stack, cause
 * chain, redacted input) for anything that is not an AppError.
 */
export const logProcedureCall = t.middleware(async ({ ctx, path, type, next, getRawInput }) => {
  const started = performance.now();
  const result = await ctx.work.track(runInProcedure(path, next));
  const duration = Math.round((performance.now() - started) * 100) / 100;

  if (result.ok) {
    // Written out rather than spread: see stepOptions in procedure-call.ts.
    ctx.logger.info('procedure_call', { procedure: path, type, duration_ms: duration, ok: true, code: null });
    return result;
  }
  const fields = { procedure: path, type, duration_ms: duration };
  const appError = asAppError(result.error.cause);
  const error = appError ? toTrpcError(appError) : result.error;
  const { code, message } = toErrorEnvelope(error, { requestId: ctx.requestId, exposeInternalMessage: true });
  const status = httpStatusOf(code);
  // Every 401 challenges the caller (RFC 9110); a header the error brings wins.
  const headers: Record<string, string> = { ...appError?.headers };
  if (status === 401) headers['WWW-Authenticate'] ??= bearerChallenge(appError?.reason);
  for (const [name, value] of Object.entries(headers)) ctx.setHeader(name, value);
  ctx.logger[levelOf(code, status)]('procedure_call', {
    ...fields,
    ok: false,
    code,
    status,
    reason: message,
    ...(appError?.context ? { context: appError.context } : {}),
  });
  if (code === 'INTERNAL') {
    await logUnhandledException(ctx.logger, { error, procedure: path, type, getRawInput });
  }
  if (appError) throw error;
  return result;
});
