import type { ServerResponse } from 'node:http';
import type { ErrorEnvelope } from '@orders/shared';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { AppError, CODE_FOR_TRPC } from '../../core/errors.ts';
import { sendError } from '../../core/http/send.ts';

/** What a REST error answer is built from: the tRPC error shape our errorFormatter made, and the tRPC code. */
export interface RestErrorSource {
  /** The shape's `data`: the envelope fields the errorFormatter put there. */
  data?: Partial<ErrorEnvelope> | undefined;
  trpcCode?: string | undefined;
  message?: string | undefined;
}

/**
 * The API's error envelope `{ code, message, request_id, reason?, issues? }` of a failed REST
 * call. The errorFormatter always fills `data`; the fallbacks only matter for an error shaped
 * without it.
 */
export function restErrorEnvelope({ data, trpcCode, message }: RestErrorSource, requestId: string): ErrorEnvelope {
  return {
    code: data?.code ?? CODE_FOR_TRPC[(trpcCode ?? 'INTERNAL_SERVER_ERROR') as TRPC_ERROR_CODE_KEY] ?? 'INTERNAL',
    message: data?.message ?? message ?? 'Internal server error',
    request_id: data?.request_id ?? requestId,
    ...(data?.reason ? { reason: data.reason } : {}),
    ...(data?.issues ? { issues: data.issues } : {}),
  };
}

/**
 * Answers a request body `readJsonBody` refused (malformed 400, wrong type 415, too large 413)
 * with the envelope; after a 413 the connection closes, as the rest of the body is not read.
 * A body that broke off is not answered: a request the server stopped waiting for was answered
 * then (408), and a client that hung up hears nothing (its access line says 499). Anything
 * that is not such a refusal is thrown on.
 */
export function refuseBody(res: ServerResponse, error: unknown, requestId: string): void {
  if (!(error instanceof AppError)) throw error;
  if (res.headersSent) return;
  if (error.code === 'CLIENT_CLOSED_REQUEST') {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = error.code === 'PAYLOAD_TOO_LARGE' ? { Connection: 'close' } : {};
  sendError(res, { code: error.code, message: error.message, request_id: requestId }, headers);
}
