import type { ServerResponse } from 'node:http';
import { AppError } from '../../core/errors.ts';
import { sendError } from '../../core/http/send.ts';

/**
 * Answers a request body `readJsonBody` refused (malformed 400, wrong type 415, too large 413)
 * with the envelope; after a 413 the connection closes, as the rest of the body is not read.
 * A body that broke off is not answered: a request the server stopped waiting for was answered
 * then (408), and a client that hung up hears nothing (its access line says 499). Anything
 * that is not such a refusal is thrown on.
 */
export function refuseBody(res: ServerResponse, error: unknown): void {
  if (!(error instanceof AppError)) throw error;
  if (res.headersSent) return;
  if (error.code === 'CLIENT_CLOSED_REQUEST') {
    res.destroy();
    return;
  }
  sendError(res, error);
}
