import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import type { Context } from './context.ts';

const IDEMPOTENCY_KEY = /^[\x21-\x7E]{1,255}$/;

export const IdempotencyHeadersSchema = z.object({
  'idempotency-key': z.string().optional().meta({
    description:
      'Makes a retry safe: the same key with the same body answers the first result and charges once (kept 24 h).',
    example: '5f0c7a2e-checkout-42',
  }),
});

/** The request's Idempotency-Key header (both protocols), checked; undefined when absent. */
export function idempotencyKeyOf(ctx: Pick<Context, 'header'>): string | undefined {
  const key = ctx.header('idempotency-key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new AppError('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  }
  return key;
}
