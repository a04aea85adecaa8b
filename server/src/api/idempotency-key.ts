import { IdempotencyKeySchema } from '@orders/shared';
import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import type { Context } from './context.ts';

/** The request headers of orders.create and orders.pay, as their OpenAPI operations show them. */
export const IdempotencyHeadersSchema = z.object({
  'idempotency-key': IdempotencyKeySchema.optional().meta({
    description:
      'Makes a retry safe: the same key with the same body answers the first result and charges once (kept 24 h).',
    example: '5f0c7a2e-checkout-42',
  }),
});

/**
 * The idempotency key of one call: on tRPC its own entry of the `Idempotency-Keys` header when
 * the request has one (checked when the context was made, see call-idempotency-keys.ts), else
 * the request's Idempotency-Key header (both protocols), checked with the schema the OpenAPI
 * document shows: 400 INVALID_IDEMPOTENCY_KEY when it does not match. Undefined when absent.
 */
export function idempotencyKeyOf(
  ctx: Pick<Context, 'header' | 'callIdempotencyKeys' | 'transport'>,
  batchIndex = 0,
): string | undefined {
  if (ctx.callIdempotencyKeys) return ctx.callIdempotencyKeys.get(batchIndex);
  if (ctx.transport === 'rest' && ctx.header('idempotency-keys') !== undefined) {
    throw new AppError(
      'INVALID_IDEMPOTENCY_KEY',
      'Idempotency-Keys is for tRPC batches; a REST call takes Idempotency-Key',
    );
  }
  const parsed = IdempotencyHeadersSchema.safeParse({ 'idempotency-key': ctx.header('idempotency-key') });
  if (!parsed.success) {
    throw new AppError('INVALID_IDEMPOTENCY_KEY', parsed.error.issues[0]?.message ?? 'Invalid Idempotency-Key');
  }
  return parsed.data['idempotency-key'];
}
