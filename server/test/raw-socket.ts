import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A TCP connection to the app at `baseUrl`, for bytes no HTTP client would send. */
export async function openSocket(baseUrl: string): Promise<Socket> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect({ host: hostname, port: Number(port) });
  await once(socket, 'connect');
  return socket;
}

/** The head of a request with a JSON body of `contentLength` bytes (the body is written separately). */
export function requestHead({
  method = 'POST',
  path,
  contentLength,
  requestId,
}: {
  method?: string;
  path: string;
  contentLength: number;
  requestId: string;
}): string {
  return (
    `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${contentLength}\r\nX-Request-Id: ${requestId}\r\n\r\n`
  );
}

/**
 * Sends `head` and the first `sentBytes` of `body`, waits `waitMs` (the server is reading the
 * body by then), then hangs up: `close` ends the connection (FIN), `reset` resets it (RST).
 */
export async function hangUpMidBody(
  baseUrl: string,
  {
    head,
    body,
    sentBytes,
    hangUp,
    waitMs = 100,
  }: {
    head: string;
    body: string;
    sentBytes: number;
    hangUp: 'close' | 'reset';
    waitMs?: number;
  },
): Promise<void> {
  const socket = await openSocket(baseUrl);
  socket.on('error', () => undefined);
  socket.write(head + body.slice(0, sentBytes));
  await sleep(waitMs);
  const closed = once(socket, 'close');
  if (hangUp === 'reset') socket.resetAndDestroy();
  else socket.destroy();
  await closed;
}

export interface RawAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/** Parses the one HTTP/1.1 answer a server wrote before closing the connection. */
function parseAnswer(text: string): RawAnswer {
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd === -1 ? text : text.slice(0, headEnd);
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(statusLine.split(' ')[1] ?? 0),
    headers,
    body: headEnd === -1 ? '' : text.slice(headEnd + 4),
  };
}

/**
 * Writes `bytes` on a new connection, leaves it open, and resolves with what the server
 * answered once it closes the connection (within `timeoutMs`).
 */
export async function answerTo(baseUrl: string, bytes: string, { timeoutMs = 5_000 } = {}): Promise<RawAnswer> {
  const socket = await openSocket(baseUrl);
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined);
  socket.write(bytes);
  const closed = once(socket, 'close');
  const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  await closed;
  clearTimeout(timer);
  return parseAnswer(text);
}
