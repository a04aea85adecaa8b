import type { ServerResponse } from 'node:http';
import type { ErrorEnvelope } from '@orders/shared';
import { ERROR_TABLE } from '../errors.ts';

export function sendJson(
  res: ServerResponse,
  { status, body, headers = {} }: { status: number; body: unknown; headers?: Record<string, string> },
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** Answers with the API's error envelope at the status its code names. */
export function sendError(res: ServerResponse, envelope: ErrorEnvelope, headers: Record<string, string> = {}): void {
  sendJson(res, { status: ERROR_TABLE[envelope.code].status, body: envelope, headers });
}
