import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../core/errors.ts';

/** Where a keyset page ended: the exact `created_at` text (microseconds kept) and the id. */
export interface OrderCursor {
  createdAt: string;
  id: string;
}

/**
 * Cursors are opaque to clients and signed, so a tampered or made-up cursor is a 400
 * INVALID_CURSOR instead of a query on values nobody checked.
 */
export function createCursorCodec(secret: string) {
  const key = createHmac('sha256', secret).update('orders-cursor').digest();
  const sign = (payload: string) => createHmac('sha256', key).update(payload).digest('base64url').slice(0, 22);
  const invalid = () =>
    new AppError('INVALID_CURSOR', 'The cursor is not one this API gave out; start again without it');

  return {
    encode(cursor: OrderCursor): string {
      const payload = Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
      return `${payload}.${sign(payload)}`;
    },
    decode(text: string): OrderCursor {
      const [payload, signature, extra] = text.split('.');
      if (!payload || !signature || extra !== undefined) throw invalid();
      const expected = Buffer.from(sign(payload));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
      const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') throw invalid();
      return { createdAt: parsed[0], id: parsed[1] };
    },
  };
}

export type CursorCodec = ReturnType<typeof createCursorCodec>;
