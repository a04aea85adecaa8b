import type { ExpressionBuilder } from 'kysely';
import { isDatabaseUnavailable } from '../../core/db/database-errors.ts';
import type { Db } from '../../core/db/database.ts';
import { AppError } from '../../core/errors.ts';
import type { Trx } from '../../core/db/transaction.ts';
import { retryWhenDatabaseReturns } from './deferred-write.ts';
import type { OrdersDeps } from './deps.ts';
import type { KeyClaim } from './idempotency-claim.ts';
import type { Database } from '../../models/index.ts';

/**
 * Writes the order a request works on into its Idempotency-Key, inside the transaction that
 * creates the order (or reserves it for payment): whatever happens to the request after that
 * commit, even a lost acknowledgement of it, the key names the order, and a retry resumes it
 * instead of making a second one. Does nothing for a request without a key.
 */
export async function linkOrderToIdempotencyKey(
  trx: Trx,
  orderId: string,
  running: KeyClaim | undefined,
): Promise<void> {
  if (!running) return;
  const linked = await trx
    .updateTable('idempotency_keys')
    .set({ order_id: orderId })
    .where('user_id', '=', running.userId)
    .where('key', '=', running.key)
    .where('claimed_by', '=', running.token)
    .executeTakeFirst();
  // The key was taken over (this request ran past its stale claim time): no order the key does not name.
  if (linked.numUpdatedRows === 0n) throw keyTakenOver(running.key);
}

/** 409 IDEMPOTENCY_KEY_IN_PROGRESS: this request ran past its stale claim time and another took the key over. */
export function keyTakenOver(key: string): AppError {
  return new AppError('IDEMPOTENCY_KEY_IN_PROGRESS', 'Another request took over this Idempotency-Key; retry shortly', {
    context: { idempotency_key: key },
  });
}

/** What a finished request leaves in its key for the retries to answer with. */
export interface KeyOutcome {
  order_id?: string;
  error_code?: string;
  error_message?: string;
}

/** Marks the key done with its request's outcome, if the request still holds it. */
export async function finishKey(db: Db, running: KeyClaim, outcome: KeyOutcome): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ state: 'done', ...outcome })
    .where('user_id', '=', running.userId)
    .where('key', '=', running.key)
    .where('claimed_by', '=', running.token)
    .execute();
}

/**
 * Lets go of a key after an unexpected failure: forgotten when nothing was written under it,
 * so a retry starts afresh; interrupted when an order was, so a retry resumes that order
 * rather than making another.
 */
export async function releaseKey(db: Db, running: KeyClaim): Promise<void> {
  await db.deleteFrom('idempotency_keys').where(heldBy(running)).where('order_id', 'is', null).execute();
  await db
    .updateTable('idempotency_keys')
    .set({ state: 'interrupted' })
    .where(heldBy(running))
    .where('order_id', 'is not', null)
    .execute();
}

/** The key this request still holds: claimed by it and in progress. */
function heldBy(running: KeyClaim) {
  return (eb: ExpressionBuilder<Database, 'idempotency_keys'>) =>
    eb.and([
      eb('user_id', '=', running.userId),
      eb('key', '=', running.key),
      eb('claimed_by', '=', running.token),
      eb('state', '=', 'in_progress'),
    ]);
}

/**
 * Writes what ends a request's hold on its key now, or, while the database is unreachable,
 * in the background once it is back: the client is not kept waiting, and the key is not left
 * claimed by a request that has ended (retries would wait on it until the claim goes stale).
 */
export async function writeOrDefer(
  deps: Pick<OrdersDeps, 'logger'>,
  { name, key }: { name: string; key: string },
  write: () => Promise<unknown>,
): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    retryWhenDatabaseReturns(deps.logger, { name, context: { idempotency_key: key } }, write);
  }
}
