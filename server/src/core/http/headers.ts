import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** Anything that carries request headers: node's IncomingMessage, or the Fetch `Request` trpc-to-openapi builds. */
export type HeaderSource = IncomingMessage | Request | { headers: IncomingHttpHeaders | Headers };

/** Reads one header the same way from a node request and a Fetch request; repeated headers give the first value. */
export function readHeader(source: HeaderSource, name: string): string | undefined {
  const { headers } = source;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
