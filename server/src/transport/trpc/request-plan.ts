import type { IncomingMessage } from 'node:http';
import { splitRequestUrl } from '../../core/http/request-url.ts';

/** What the native adapter needs of a request it serves itself. */
export interface RequestPlan {
  method: 'GET' | 'POST';
  /** The procedure path (or comma-separated batch of paths), base path removed. */
  path: string;
  query: URLSearchParams;
}

/**
 * Characters for which the raw request path equals its WHATWG `pathname` (what the official
 * adapter routes on) and `decodeURIComponent` is the identity: no escapes, no dot segments,
 * nothing a URL parser would re-encode. Procedure paths like `v1.orders.list,v1.products.get`
 * always match; anything else goes to the official adapter.
 */
const PLAIN_PATH = /^(?:\/(?:[\w,~-][\w.,~-]*)?)+$/;
/** A query the URL parser would leave alone: printable ASCII, no fragment. */
const PLAIN_QUERY = /^[\x21-\x22\x24-\x7e]*$/;
/** A Host header `new URL()` accepts as is (IPv6 literals and oddities take the official path). */
const PLAIN_HOST = /^[A-Za-z0-9.-]+(?::(\d{1,5}))?$/;

/** One leading and one trailing slash off, as the official standalone adapter trims. */
export function trimSlashes(path: string): string {
  const withoutLeading = path.startsWith('/') ? path.slice(1) : path;
  return withoutLeading.endsWith('/') ? withoutLeading.slice(0, -1) : withoutLeading;
}

function plainHost(host: string | undefined): boolean {
  if (host === undefined) return true;
  const match = PLAIN_HOST.exec(host);
  return match !== null && (match[1] === undefined || Number(match[1]) <= 65_535);
}

/** Media types are case-insensitive and their parameters do not count (RFC 9110 8.3.1). */
function mediaType(header: string | undefined): string | undefined {
  return header?.split(';', 1)[0]?.trim().toLowerCase();
}

/**
 * Whether the native adapter serves this request, and what it routes on. `undefined` hands
 * the request to the official adapter untouched: other methods (HEAD, OPTIONS...), form data
 * and binary bodies, streaming (`trpc-accept`, `Accept: application/jsonl`), connection
 * params, and any URL or Host whose parsing is not trivially the same.
 */
export function planRequest(req: IncomingMessage, basePath: string): RequestPlan | undefined {
  const method = req.method;
  if (method !== 'GET' && method !== 'POST') return undefined;
  const type = mediaType(req.headers['content-type']);
  if (
    method === 'POST'
      ? type !== 'application/json'
      : type === 'multipart/form-data' || type === 'application/octet-stream'
  ) {
    return undefined;
  }
  if (req.headers['trpc-accept'] !== undefined || req.headers.accept?.includes('application/jsonl')) return undefined;
  if (!plainHost(req.headers.host)) return undefined;

  const { path: pathname, search } = splitRequestUrl(req.url ?? '/');
  if (!PLAIN_PATH.test(pathname) || !PLAIN_QUERY.test(search)) return undefined;
  const query = new URLSearchParams(search);
  if (query.has('connectionParams')) return undefined;

  return { method, path: trimSlashes(trimSlashes(pathname).slice(basePath.length)), query };
}
