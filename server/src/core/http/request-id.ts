import { randomUUID } from 'node:crypto';

/** Short, printable, no spaces or quotes: safe to echo in a header and to write in a log line. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Keeps a caller's `X-Request-Id` when it is sane, so traces join up across services; else makes one. */
export function resolveRequestId(incoming: string | undefined): string {
  return incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}
