import { ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '@orders/shared';
import { AppError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { redactString } from '../logging/redact.ts';
import type { RequestContext } from '../logging/request-context.ts';
import { resolveRequestId } from './request-id.ts';
import { sendJson } from './send.ts';

interface Refusal {
  status: number;
  code: ErrorCode;
  message: string;
}

/** What the client is told about a request node's HTTP server refused, at the status node itself would answer. */
function refusalOf(error: Error & { code?: string }): Refusal {
  switch (error.code ?? '') {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'REQUEST_TIMEOUT', message: 'The request did not arrive whole in time' };
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: 'BAD_REQUEST',
        message: 'Request headers (the URL included) are larger than the limit',
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'Chunk extensions are larger than the limit' };
    default:
      return { status: 400, code: 'BAD_REQUEST', message: 'Malformed HTTP request' };
  }
}

/**
 * The client reset the connection, or closed its side before its request was whole: nobody to
 * answer. (A request the app was serving gets its 499 access line from the app.)
 */
const CLIENT_WENT_AWAY = new Set(['ECONNRESET', 'HPE_INVALID_EOF_STATE']);

/** Logged when the request line is not known: its bytes did not parse, or never came. */
const UNKNOWN = '-';
/** The request line is read from the first bytes of what was refused, and no further. */
const REQUEST_LINE_BYTES = 1_024;
const REQUEST_LINE = /^([A-Z][A-Z-]{0,19}) ([\x21-\x7e]+)/;
/** A logged path is cut to this many characters. */
const MAX_LOGGED_PATH = 200;

/**
 * The method and path of the refused request's line, when the bytes node refused start with
 * one (a parse error keeps them in `rawPacket`; a timeout has none). The path loses its query
 * and is cut short, and its text is redacted as every logged path is.
 */
function requestLineOf(rawPacket: unknown): { method: string; path: string } {
  if (!Buffer.isBuffer(rawPacket)) return { method: UNKNOWN, path: UNKNOWN };
  const match = REQUEST_LINE.exec(rawPacket.toString('latin1', 0, REQUEST_LINE_BYTES));
  if (!match) return { method: UNKNOWN, path: UNKNOWN };
  const target = match[2] ?? '';
  const query = target.indexOf('?');
  const path = query === -1 ? target : target.slice(0, query);
  const capped = path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path;
  return { method: match[1] ?? UNKNOWN, path: redactString(capped) };
}

/**
 * A request whose headers node refused never reaches the app: it is answered here, in the
 * error envelope with a request id, and gets its `http_request` line.
 */
function answerUnparsed(
  socket: Socket,
  { refusal, error, logger, startedAt }: { refusal: Refusal; error: Error; logger: Logger; startedAt: number },
): void {
  const requestId = resolveRequestId(undefined);
  const body = JSON.stringify({ code: refusal.code, message: refusal.message, request_id: requestId });
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? 'Bad Request'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
  const context: RequestContext = {
    request_id: requestId,
    ...requestLineOf((error as { rawPacket?: unknown }).rawPacket),
    // Its headers did not parse, so X-Forwarded-For is not read: the peer's address.
    ip: socket.remoteAddress ?? 'unknown',
    user_id: null,
    role: null,
  };
  const latency = Math.round((performance.now() - startedAt) * 100) / 100;
  logger.info('http_request', { status: refusal.status, latency_ms: latency }, { context });
}

/**
 * A request the app is serving whose body node refused (it did not arrive in time, or its
 * chunked framing broke) is answered through its response, which the app's access line then
 * reports. The app's body reader still waits for the rest: once the connection has closed it
 * ends with the refusal (see `bodyBrokenOff`).
 */
function answerInFlight(socket: Socket, { res, refusal }: { res: ServerResponse; refusal: Refusal }): void {
  const requestId = res.getHeader('x-request-id');
  sendJson(res, {
    status: refusal.status,
    body: {
      code: refusal.code,
      message: refusal.message,
      request_id: typeof requestId === 'string' ? requestId : resolveRequestId(undefined),
    },
    headers: { Connection: 'close' },
  });
  const req = res.req;
  socket.once('close', () => req.destroy(new AppError(refusal.code, refusal.message)));
}

/** The response the app is writing on this connection, if it is serving a request (node's own link). */
function responseInFlight(socket: Socket): ServerResponse | undefined {
  const message = (socket as { _httpMessage?: unknown })._httpMessage;
  return message instanceof ServerResponse ? (message as ServerResponse) : undefined;
}

/**
 * The server's 'clientError' listener: node's refusals (a request line or headers that do not
 * parse, headers over 16 KiB, a request not whole within the request timeout) answered with
 * the status node would give (400, 431, 408), in the error envelope, each with an access line.
 * A connection the client reset or closed, or one already answered, is only closed: a request
 * the app was serving gets its access line (499) from the app.
 *
 * @example server.on('clientError', answerClientErrors({ logger, openedAt }));
 */
export function answerClientErrors({ logger, openedAt }: { logger: Logger; openedAt: WeakMap<Socket, number> }) {
  return function answerClientError(error: Error & { code?: string }, socket: Socket): void {
    if (CLIENT_WENT_AWAY.has(error.code ?? '') || !socket.writable) {
      socket.destroy();
      return;
    }
    const refusal = refusalOf(error);
    const inFlight = responseInFlight(socket);
    if (inFlight) {
      if (inFlight.headersSent) socket.destroy();
      else answerInFlight(socket, { res: inFlight, refusal });
      return;
    }
    // The request's own start is not known: the connection's is (most refused requests are its first).
    const startedAt = openedAt.get(socket) ?? performance.now();
    answerUnparsed(socket, { refusal, error, logger, startedAt });
  };
}
