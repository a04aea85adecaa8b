import { isErrorCode } from '@orders/shared';
import { AppError } from '../../core/errors.ts';
import type { OrdersDeps } from './deps.ts';
import type { DoneClaim, IdempotencyScope } from './idempotency-claim.ts';

/**
 * Answers a request whose key is done without running anything: the AppError the first
 * request ended with, again, or the order it made (`replay` reads it as it is now).
 */
export async function replayOutcome<Result>(
  deps: Pick<OrdersDeps, 'logger'>,
  { scope, done }: { scope: IdempotencyScope; done: DoneClaim },
  replay: (orderId: string) => Promise<Result>,
): Promise<Result> {
  deps.logger.info('idempotent_replay', {
    context: { idempotency_key: scope.key, operation: scope.operation, order_id: done.orderId },
  });
  if (done.errorCode !== null && isErrorCode(done.errorCode)) {
    // A failed charge names the order it kept, the second time as the first.
    const namesOrder = done.errorCode === 'PAYMENT_DECLINED' || done.errorCode === 'PAYMENT_GATEWAY_UNAVAILABLE';
    throw new AppError(done.errorCode, done.errorMessage ?? 'The first request with this key failed', {
      context: { idempotency_key: scope.key, replayed: true, order_id: done.orderId },
      ...(namesOrder && done.orderId !== null ? { orderId: done.orderId } : {}),
    });
  }
  if (done.orderId === null) throw new Error(`idempotency key ${scope.key} is done without an outcome`);
  return replay(done.orderId);
}
