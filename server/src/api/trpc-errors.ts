import { UNSTORABLE_TEXT_MESSAGE, type ErrorCode, type ValidationIssue } from '@orders/shared';
import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { z } from 'zod';
import { isDatabaseUnavailable, isUnstorableText } from '../core/db/database-errors.ts';
import { AppError } from '../core/errors.ts';
import { boundedIssues, shownText } from './shown-text.ts';

/**
 * The tRPC code each stable code travels as on tRPC; the HTTP status tRPC gives it is the
 * code's own (ERROR_TABLE), which `trpc-errors.test.ts` holds.
 */
export const TRPC_CODE: Record<ErrorCode, TRPC_ERROR_CODE_KEY> = {
  BAD_REQUEST: 'BAD_REQUEST',
  VALIDATION_FAILED: 'BAD_REQUEST',
  MALFORMED_JSON: 'PARSE_ERROR',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  REQUEST_TIMEOUT: 'TIMEOUT',
  CLIENT_CLOSED_REQUEST: 'CLIENT_CLOSED_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  INVALID_CREDENTIALS: 'UNAUTHORIZED',
  INVALID_CURRENT_PASSWORD: 'BAD_REQUEST',
  FORBIDDEN: 'FORBIDDEN',
  EMAIL_NOT_VERIFIED: 'FORBIDDEN',
  INVALID_TOKEN: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  ROUTE_NOT_FOUND: 'NOT_FOUND',
  PRODUCT_NOT_FOUND: 'NOT_FOUND',
  USER_NOT_FOUND: 'NOT_FOUND',
  EMAIL_TAKEN: 'CONFLICT',
  SKU_TAKEN: 'CONFLICT',
  ORDER_NOT_FOUND: 'NOT_FOUND',
  OUT_OF_STOCK: 'CONFLICT',
  CURRENCY_MISMATCH: 'UNPROCESSABLE_CONTENT',
  ORDER_TOTAL_TOO_LARGE: 'UNPROCESSABLE_CONTENT',
  PAYMENT_DECLINED: 'PAYMENT_REQUIRED',
  PAYMENT_GATEWAY_UNAVAILABLE: 'BAD_GATEWAY',
  INVALID_STATE_TRANSITION: 'CONFLICT',
  IDEMPOTENCY_KEY_REUSED: 'CONFLICT',
  IDEMPOTENCY_KEY_IN_PROGRESS: 'CONFLICT',
  INVALID_IDEMPOTENCY_KEY: 'BAD_REQUEST',
  INVALID_CURSOR: 'BAD_REQUEST',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_SUPPORTED',
  CONFLICT: 'CONFLICT',
  LAST_ADMIN: 'CONFLICT',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
  DATABASE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
};

/** The code an error tRPC made gets when nothing more specific was thrown. */
const CODE_FOR_TRPC: Partial<Record<TRPC_ERROR_CODE_KEY, ErrorCode>> = {
  PARSE_ERROR: 'MALFORMED_JSON',
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_SUPPORTED: 'METHOD_NOT_ALLOWED',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  TIMEOUT: 'REQUEST_TIMEOUT',
  CLIENT_CLOSED_REQUEST: 'CLIENT_CLOSED_REQUEST',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
  SERVICE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
};

/** An AppError thrown in a procedure becomes the TRPCError whose code its own code names. */
export function toTrpcError(error: AppError): TRPCError {
  return new TRPCError({ code: TRPC_CODE[error.code], message: error.message, cause: error });
}

function toIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
    code: issue.code,
  }));
}

/**
 * The AppError a failure that is not one stands for: VALIDATION_FAILED for text the database
 * refused to store, DATABASE_UNAVAILABLE for a lost database, or what tRPC's own error means.
 * Only tRPC's own request errors speak their message (bounded: it may quote the request);
 * anything unexpected is INTERNAL with a generic message (the details go to the log, not the
 * client), unless the service runs on a developer's machine.
 */
function appErrorFor(error: TRPCError, exposeInternalMessage: boolean): AppError {
  const cause = error.cause;
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
  if (cause instanceof z.ZodError && error.code === 'BAD_REQUEST') {
    const issues = boundedIssues(cause);
    const message = `Invalid input: ${z.prettifyError({ issues }).replace(/\n\s*/g, ' ')}`;
    return new AppError('VALIDATION_FAILED', message, { issues: toIssues(issues), cause: error });
  }
  // tRPC reports input that is not JSON (the `input` query parameter, a body) as BAD_REQUEST.
  const code =
    cause instanceof SyntaxError && error.code === 'BAD_REQUEST' ? 'MALFORMED_JSON' : CODE_FOR_TRPC[error.code];
  if (code !== undefined) return new AppError(code, shownText(error.message), { cause: error });
  const message = exposeInternalMessage ? `Internal error: ${error.message}` : 'Internal server error';
  return new AppError('INTERNAL', message, { cause: error });
}

const answered = new WeakMap<TRPCError, AppError>();

/**
 * The AppError any failed call answers with, on both protocols: the one thrown, else the one
 * it stands for, made once per error (a batch formats a request's error once per call).
 */
export function appErrorOf(error: TRPCError, { exposeInternalMessage }: { exposeInternalMessage: boolean }): AppError {
  if (error.cause instanceof AppError) return error.cause;
  let failure = answered.get(error);
  if (failure === undefined) {
    failure = appErrorFor(error, exposeInternalMessage);
    answered.set(error, failure);
  }
  return failure;
}
