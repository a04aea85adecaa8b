import { splitRequestUrl } from '../../core/http/request-url.ts';

/** A REST request target (under the base path) read the way trpc-to-openapi reads it. */
export interface RequestTarget {
  /** The WHATWG pathname: dot segments resolved, unsafe characters percent-encoded, never decoded. */
  pathname: string;
  /** The query string's pairs with URLSearchParams semantics (`+` is a space); undefined when there is none. */
  query: URLSearchParams | undefined;
}

/**
 * Characters a WHATWG URL keeps as they are in a path. Anything else (`.` segments, `%2e`,
 * `\`, spaces, `{`, non-ASCII) is left to `new URL`, which is exact but costs a few µs.
 */
const PLAIN_PATH = /^\/[A-Za-z0-9\-_~!$&'()*+,;=:@/]*$/;
/** Printable ASCII but `#` (a fragment): URLSearchParams reads it as a URL's query would. */
const PLAIN_QUERY = /^[\x21\x22\x24-\x7E]*$/;

/**
 * Splits `url` (the request's URL with the base path taken off) into pathname and query
 * without building a URL on the common path. A target that does not start with `/` (a bare
 * `/api?x=1`) is read as `/?x=1`.
 */
export function readRequestTarget(url: string): RequestTarget {
  const target = url.startsWith('/') ? url : `/${url}`;
  const { path: pathname, search } = splitRequestUrl(target);
  if (PLAIN_PATH.test(pathname) && PLAIN_QUERY.test(search)) {
    return { pathname, query: search === '' ? undefined : new URLSearchParams(search) };
  }
  // The same string concatenation trpc-to-openapi does: `//x` stays a path, never a host.
  const parsed = new URL(`http://127.0.0.1${target}`);
  return { pathname: parsed.pathname, query: parsed.search === '' ? undefined : parsed.searchParams };
}
