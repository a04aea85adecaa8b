/** A request URL as sent (`/api/v1/products?limit=5`), cut at its first `?`. */
export interface RequestUrlParts {
  /** Everything before the `?`: the path, as sent (not decoded, dot segments kept). */
  path: string;
  /** Everything after it: the query string without its `?`; empty when there is none. */
  search: string;
}

/**
 * Splits a request URL into path and query string without building a URL (a WHATWG parse
 * costs microseconds on every request). Callers that need the URL parser's reading of an
 * unusual path check the parts and fall back to it.
 */
export function splitRequestUrl(url: string): RequestUrlParts {
  const queryStart = url.indexOf('?');
  return queryStart === -1
    ? { path: url, search: '' }
    : { path: url.slice(0, queryStart), search: url.slice(queryStart + 1) };
}
