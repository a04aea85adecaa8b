import type { ServerResponse } from 'node:http';
import type { AppError } from '../errors.ts';

export function sendJson(
  res: ServerResponse,
  { status, body, headers = {} }: { status: number; body: unknown; headers?: Readonly<Record<string, string>> },
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** Answers with an error as it carries its answer: its status, its headers, its envelope. */
export function sendError(res: ServerResponse, error: AppError): void {
  sendJson(res, { status: error.status, body: error.envelope, headers: error.headers });
}
