import type { IncomingMessage } from 'node:http';
import { AppError } from '../errors.ts';
import { readBodyText, withoutByteOrderMark } from './body-text.ts';

/** Far deeper than any input of this API; deeper JSON would overflow the stack of the code that walks it. */
export const MAX_JSON_DEPTH = 128;

/** True when arrays and objects in `text` nest deeper than `maxDepth` (brackets in strings do not count). */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      // A backslash escapes the next character; a quote ends the string.
      if (char === 0x5c) i++;
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x5b || char === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (char === 0x5d || char === 0x7d) {
      depth--;
    }
  }
  return false;
}

function isJsonContentType(contentType: string | undefined): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/**
 * Reads a JSON request body with a size limit: 415 when it is not JSON, 413 past
 * `maxBytes` (checked against Content-Length before reading, and while reading), 400 when
 * it does not parse or nests deeper than MAX_JSON_DEPTH, and `bodyBrokenOff` when it stops
 * arriving. An empty body is `undefined`, whatever its content type.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  if (declaresBodyOver(req, maxBytes)) throw payloadTooLarge(maxBytes);
  const body = await readBodyText(req, { maxBytes, tooLarge: () => payloadTooLarge(maxBytes) });
  if (body === '') return undefined;
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type must be application/json (got ${req.headers['content-type'] ?? 'none'})`,
    );
  }
  const text = withoutByteOrderMark(body);
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new AppError('MALFORMED_JSON', `Request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AppError('MALFORMED_JSON', `Request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** True when the request's Content-Length announces a body over `maxBytes`: refuse it before reading a byte. */
export function declaresBodyOver(req: IncomingMessage, maxBytes: number): boolean {
  return Number(req.headers['content-length'] ?? Number.NaN) > maxBytes;
}

/** The refusal of a body over the limit: the rest of it is not read, so the connection closes after the answer. */
export function payloadTooLarge(maxBytes: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `Request body is larger than the limit of ${maxBytes} bytes`, {
    headers: { Connection: 'close' },
  });
}
