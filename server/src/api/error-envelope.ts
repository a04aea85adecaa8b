import type { ErrorCode, ErrorEnvelope, ValidationIssue } from '@orders/shared';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { AppError, CODE_FOR_TRPC, ERROR_TABLE } from '../core/errors.ts';

/**
 * How much of what a client sent an error repeats back: zod names every unknown key in full,
 * so a 100 KB key would be a 100 KB message, answered and logged (and read for secrets) twice.
 */
const SHOWN_KEY_LENGTH = 100;
const SHOWN_KEYS = 10;
/** The same bound for the request's own text that a message repeats (a path, a procedure's name). */
const SHOWN_TEXT_LENGTH = 200;

/** A client's text as a message repeats it: at most its first 200 characters, and how long it was. */
export function shownText(text: string): string {
  return text.length > SHOWN_TEXT_LENGTH ? `${text.slice(0, SHOWN_TEXT_LENGTH)}… (${text.length} characters)` : text;
}

function shownKey(key: string): string {
  return key.length > SHOWN_KEY_LENGTH ? `"${key.slice(0, SHOWN_KEY_LENGTH)}…" (${key.length} characters)` : `"${key}"`;
}

/** zod's message for unknown keys (`Unrecognized key: "role"`), with each key and their number bounded. */
function unrecognizedKeysMessage(keys: readonly string[]): string {
  const shown = keys.slice(0, SHOWN_KEYS).map(shownKey).join(', ');
  const more = keys.length > SHOWN_KEYS ? ` and ${keys.length - SHOWN_KEYS} more` : '';
  return `Unrecognized key${keys.length > 1 ? 's' : ''}: ${shown}${more}`;
}

/** The error's issues as the client and the log see them: unknown keys' names bounded. */
function boundedIssues(error: z.ZodError): z.core.$ZodIssue[] {
  return error.issues.map((issue) =>
    issue.code === 'unrecognized_keys' ? { ...issue, message: unrecognizedKeysMessage(issue.keys) } : issue,
  );
}

function toIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.map((issue) => ({
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
    const issues = boundedIssues(cause);
    return {
      code: 'VALIDATION_FAILED',
      message: `Invalid input: ${z.prettifyError({ issues }).replace(/\n\s*/g, ' ')}`,
      request_id: requestId,
      issues: toIssues(issues),
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
  // tRPC's own refusals may quote the request (`No procedure found on path "…"`).
  return { code, message: shownText(error.message), request_id: requestId };
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
