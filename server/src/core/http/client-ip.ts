import type { IncomingMessage } from 'node:http';

/**
 * The caller's address. `X-Forwarded-For` is only believed behind a proxy we run
 * (`TRUST_PROXY`): otherwise any client could claim any address and dodge rate limits.
 */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? 'unknown';
}
