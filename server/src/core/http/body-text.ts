import type { IncomingMessage } from 'node:http';

/**
 * A request's body as text (UTF-8, as sent: a byte order mark is kept, see
 * `withoutByteOrderMark`), read through `data` events rather than an async iterator (no
 * promise per chunk). Past `maxBytes` it stops listening and rejects with `tooLarge()`; what
 * the client still sends is left unread.
 */
export function readBodyText(
  req: IncomingMessage,
  { maxBytes, tooLarge }: { maxBytes: number; tooLarge: () => Error },
): Promise<string> {
  return new Promise((resolve, reject) => {
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
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** The text without a leading byte order mark, as TextDecoder (and so a Fetch `Request.text()`) drops it. */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
