import type { IncomingMessage, ServerResponse } from 'node:http';

const ALLOWED_METHODS = 'GET, POST, PATCH, PUT, DELETE, OPTIONS';
// A browser frontend may carry its trace (W3C traceparent, tracestate) and read the one it joined,
// and give each call of a tRPC batch its own idempotency key (Idempotency-Keys).
const ALLOWED_HEADERS =
  'Authorization, Content-Type, Idempotency-Key, Idempotency-Keys, X-Request-Id, trpc-accept, traceparent, tracestate';
const EXPOSED_HEADERS = 'X-Request-Id, Retry-After, WWW-Authenticate, traceresponse';

/**
 * CORS with an exact allow-list: a listed origin is echoed back with credentials; a `*`
 * entry (refused in production) answers `*` without credentials; any other origin gets no
 * CORS headers at all. Returns true when the request was a preflight and has been answered.
 *
 * @example
 * if (applyCors(req, res, ['https://shop.example.com'])) return;
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
  res.setHeader('Vary', 'Origin');
  const listed = origin !== undefined && allowedOrigins.includes(origin);
  // A wildcard (refused in production) admits any origin, but never with credentials:
  // echoing an arbitrary origin together with Allow-Credentials would let any site act
  // with the visitor's credentials.
  const wildcard = !listed && origin !== undefined && allowedOrigins.includes('*');
  const allowed = listed || wildcard;
  if (listed) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
  } else if (wildcard) {
    res.setHeader('Access-Control-Allow-Origin', '*');
  }
  if (allowed) res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  if (!preflight) return false;
  if (allowed) {
    res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
  }
  res.writeHead(204).end();
  return true;
}
