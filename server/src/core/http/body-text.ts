import type { IncomingMessage } from 'node:http';
import { AppError } from '../errors.ts';

/**
 * What reading a body that broke off ends with. The server destroys a request it stopped
 * waiting for with the refusal it answered (REQUEST_TIMEOUT: see client-error.ts); any other
 * break (the request's 'aborted', ECONNRESET on its socket, a premature close) is the client
 * hanging up: CLIENT_CLOSED_REQUEST, never an error of ours.
 */
export function bodyBrokenOff(cause: unknown): AppError {
  if (cause instanceof AppError) return cause;
  return new AppError(
    'CLIENT_CLOSED_REQUEST',
    'The client closed the connection before the request body arrived whole',
    { cause },
  );
}

/**
 * A request's body as text (UTF-8, as sent: a byte order mark is kept, see
 * `withoutByteOrderMark`), read through `data` events rather than an async iterator (no
 * promise per chunk). Past `maxBytes` it stops listening and rejects with `tooLarge()`; what
 * the client still sends is left unread. A body that stops arriving (the client hung up, or the
 * server stopped waiting) rejects with `bodyBrokenOff`'s error, also when that happened before
 * the read began.
 */
export function readBodyText(
  req: IncomingMessage,
  { maxBytes, tooLarge }: { maxBytes: number; tooLarge: () => Error },
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (req.destroyed && !req.readableEnded) {
      reject(bodyBrokenOff(req.errored));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      cleanup();
      reject(tooLarge());
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    // A request destroyed without an error (nobody was listening for one then) only closes.
    const onBreak = (error?: Error) => {
      cleanup();
      reject(bodyBrokenOff(error ?? req.errored));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onBreak);
      req.off('close', onBreak);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onBreak);
    req.on('close', onBreak);
  });
}

/** The text without a leading byte order mark, as TextDecoder (and so a Fetch `Request.text()`) drops it. */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
