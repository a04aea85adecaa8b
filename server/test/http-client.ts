import { request } from 'node:http';
import type { ErrorEnvelope } from '@orders/shared';
import { recordRequestSecrets, recordResponseSecrets } from './log-audit/exchange-secrets.ts';
import type { LogCapture, LogLine } from './log-capture.ts';

/** The body of a failed tRPC call: the API's envelope travels in `error.data`. */
export interface TrpcErrorBody {
  error: { message: string; code: number; data: ErrorEnvelope & { httpStatus: number; path?: string } };
}

/** The URL of one tRPC call: `/trpc/<path>?input=<json>`, or no input at all. */
export function trpcUrl(baseUrl: string, path: string, input?: unknown): string {
  const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  return `${baseUrl}/trpc/${path}${query}`;
}

/** The URL of a tRPC batch: `/trpc/a,b?batch=1&input={"0":…,"1":…}`. */
export function trpcBatchUrl(baseUrl: string, calls: readonly (readonly [path: string, input: unknown])[]): string {
  const paths = calls.map(([path]) => path).join(',');
  const inputs = Object.fromEntries(calls.map(([, input], index) => [String(index), input]));
  return `${baseUrl}/trpc/${paths}?batch=1&input=${encodeURIComponent(JSON.stringify(inputs))}`;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface RawRequest {
  method?: string;
  /** Sent exactly as written: no `..` folding, no re-encoding (fetch would normalise it). */
  path: string;
  headers?: Record<string, string>;
  /** Sent with its Content-Length, unless `chunked` is set. */
  body?: string | Buffer;
  chunked?: boolean;
  /** The client address to connect from, e.g. `127.0.0.2` (any 127.x address reaches a loopback server). */
  localAddress?: string;
}

/**
 * One request over `node:http`, for what fetch cannot express: a path with `..` in it, a
 * body without Content-Length. The answer counts even if the server closes the connection
 * before the whole body was sent (as it does after a 413).
 */
export function rawRequest(
  baseUrl: string,
  { method = 'GET', path, headers = {}, body, chunked = false, localAddress }: RawRequest,
) {
  const { hostname, port } = new URL(baseUrl);
  return new Promise<RawResponse>((resolve, reject) => {
    let answered = false;
    const outgoing = request({ host: hostname, port, path, method, headers, localAddress }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const answer = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        const authorization = Object.entries(headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
        const sent = typeof body === 'string' ? body : undefined;
        recordRequestSecrets({ url: path, authorization, body: sent }, answer.status);
        recordResponseSecrets(answer.body);
        resolve(answer);
      });
      res.on('error', reject);
    });
    outgoing.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (body === undefined) {
      outgoing.end();
    } else if (chunked) {
      const data = Buffer.from(body);
      const pieceSize = 64 * 1024;
      for (let offset = 0; offset < data.length; offset += pieceSize)
        outgoing.write(data.subarray(offset, offset + pieceSize));
      outgoing.end();
    } else {
      outgoing.setHeader('Content-Length', Buffer.byteLength(body));
      outgoing.end(body);
    }
  });
}

/**
 * The lines of one event that match `filter`, once at least `count` of them are written:
 * `http_request` is written when the response closes, which can be after the client has it.
 */
export async function waitForLines(
  logs: LogCapture,
  {
    event,
    filter = {},
    count = 1,
    timeoutMs = 3_000,
  }: { event: string; filter?: Record<string, unknown>; count?: number; timeoutMs?: number },
): Promise<LogLine[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = logs.events(event, filter);
    if (lines.length >= count) return lines;
    if (Date.now() > deadline) {
      throw new Error(`expected ${count} ${event} line(s) matching ${JSON.stringify(filter)}, found ${lines.length}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The one `http_request` line of a request, by its id. */
export async function accessLine(logs: LogCapture, requestId: string | null): Promise<LogLine> {
  const [line] = await waitForLines(logs, { event: 'http_request', filter: { request_id: requestId } });
  if (!line) throw new Error(`no http_request line for ${requestId}`);
  return line;
}
