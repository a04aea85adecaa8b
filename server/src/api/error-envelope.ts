import type { ErrorCode, ErrorEnvelope, ValidationIssue } from '@orders/shared';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { AppError, CODE_FOR_TRPC, ERROR_TABLE } from '../core/errors.ts';

function toIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
    code: issue.code,
  }));
}

/**
 * Turns any error a procedure ended with into the one envelope both protocols answer with.
 * Only AppErrors and tRPC's own request errors speak their message; anything else is
 * INTERNAL with a generic message (the details go to the log, not the client).
 */
export function toErrorEnvelope(
  error: TRPCError,
  { requestId, exposeInternalMessage }: { requestId: string; exposeInternalMessage: boolean },
): ErrorEnvelope {
  const cause = error.cause;
  if (cause instanceof AppError) {
    return {
      code: cause.code,
      message: cause.message,
      request_id: requestId,
      ...(cause.reason === undefined ? {} : { reason: cause.reason }),
    };
  }
  if (cause instanceof z.ZodError && error.code === 'BAD_REQUEST') {
    return {
      code: 'VALIDATION_FAILED',
      message: `Invalid input: ${z.prettifyError(cause).replace(/\n\s*/g, ' ')}`,
      request_id: requestId,
      issues: toIssues(cause),
    };
  }
  const code = errorCodeOf(error);
  if (code === 'INTERNAL') {
    return {
      code: 'INTERNAL',
      message: exposeInternalMessage ? `Internal error: ${error.message}` : 'Internal server error',
      request_id: requestId,
    };
  }
  return { code, message: error.message, request_id: requestId };
}

/** The stable code an error answers with. */
export function errorCodeOf(error: TRPCError): ErrorCode {
  if (error.cause instanceof AppError) return error.cause.code;
  if (error.cause instanceof z.ZodError && error.code === 'BAD_REQUEST') return 'VALIDATION_FAILED';
  // tRPC reports input that is not JSON (the `input` query parameter, a body) as BAD_REQUEST.
  if (error.cause instanceof SyntaxError && error.code === 'BAD_REQUEST') return 'MALFORMED_JSON';
  return CODE_FOR_TRPC[error.code] ?? 'INTERNAL';
}

/** An AppError thrown in a procedure becomes the TRPCError whose status its code names. */
export function toTrpcError(error: AppError): TRPCError {
  return new TRPCError({ code: ERROR_TABLE[error.code].trpc, message: error.message, cause: error });
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_TABLE[code].status;
}
