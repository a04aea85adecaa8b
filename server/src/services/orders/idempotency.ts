import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrorCode } from '@orders/shared';
import { sql } from 'kysely';
import { isDatabaseUnavailable } from '../../core/db/database-errors.ts';
import type { Db } from '../../core/db/database.ts';
import { AppError } from '../../core/errors.ts';
import type { Trx } from '../../core/db/transaction.ts';
import { chargeAndRecord, paymentFailure } from './charge.ts';
import { retryWhenDatabaseReturns } from './deferred-write.ts';
import type { OrdersDeps } from './deps.ts';
import { ORDER_COLUMNS } from './mappers.ts';

/** Keys are remembered this long, as at Stripe; the periodic sweep deletes them after it. */
export const KEY_TTL_HOURS = 24;
/** How long a request waits for a concurrent one with the same key before answering 409. */
const WAIT_FOR_FIRST_MS = 10_000;
/** A claim older than this belonged to a process that died mid-request: it may be taken over. */
const STALE_CLAIM_MINUTES = 5;

export interface IdempotencyScope {
  userId: string;
  key: string;
  operation: 'orders.create' | 'orders.pay';
  /** What the request asks for; the same key with another request is refused. */
  request: unknown;
}

/** Key order does not change what a request means, so it does not change its fingerprint. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

function fingerprintOf(scope: IdempotencyScope): string {
  return createHash('sha256')
    .update(JSON.stringify([scope.operation, canonical(scope.request)]))
    .digest('hex');
}

type Claim =
  | { owned: true; resumeOrderId: string | null }
  | { owned: false; orderId: string | null; errorCode: string | null; errorMessage: string | null };

const EXPIRED = sql<boolean>`idempotency_keys.created_at < now() - make_interval(hours => ${KEY_TTL_HOURS})`;
const STALE = sql<boolean>`idempotency_keys.state = 'in_progress'
  and idempotency_keys.created_at < now() - make_interval(mins => ${STALE_CLAIM_MINUTES})`;

async function claim(
  db: Db,
  { scope, fingerprint, token }: { scope: IdempotencyScope; fingerprint: string; token: string },
): Promise<Claim | 'busy'> {
  const inserted = await db
    .insertInto('idempotency_keys')
    .values({
      user_id: scope.userId,
      key: scope.key,
      operation: scope.operation,
      fingerprint,
      state: 'in_progress',
      claimed_by: token,
    })
    .onConflict((conflict) =>
      conflict
        .columns(['user_id', 'key'])
        .doUpdateSet({
          operation: scope.operation,
          fingerprint,
          state: 'in_progress',
          // An expired key starts afresh; one taken over to be resumed keeps its order.
          order_id: sql<string | null>`case when ${EXPIRED} then null else idempotency_keys.order_id end`,
          error_code: null,
          error_message: null,
          claimed_by: token,
          created_at: sql`now()`,
        })
        .where((eb) =>
          eb.or([
            EXPIRED,
            // Its request died before writing an order: nothing to resume, any request may start afresh.
            eb.and([STALE, eb('idempotency_keys.order_id', 'is', null)]),
            // Its request stopped after writing an order: the same request resumes that order.
            eb.and([
              eb('idempotency_keys.operation', '=', scope.operation),
              eb('idempotency_keys.fingerprint', '=', fingerprint),
              eb.or([eb('idempotency_keys.state', '=', 'interrupted'), STALE]),
            ]),
          ]),
        ),
    )
    .returning(['key', 'order_id'])
    .executeTakeFirst();
  if (inserted) return { owned: true, resumeOrderId: inserted.order_id };

  const existing = await db
    .selectFrom('idempotency_keys')
    .select(['operation', 'fingerprint', 'state', 'order_id', 'error_code', 'error_message'])
    .where('user_id', '=', scope.userId)
    .where('key', '=', scope.key)
    .executeTakeFirstOrThrow();
  if (existing.operation !== scope.operation || existing.fingerprint !== fingerprint) {
    throw new AppError(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was used with a different request; use a new key',
      {
        context: { idempotency_key: scope.key, operation: scope.operation },
      },
    );
  }
  // Interrupted here means another request took it over between our insert and this read.
  if (existing.state !== 'done') return 'busy';
  return {
    owned: false,
    orderId: existing.order_id,
    errorCode: existing.error_code,
    errorMessage: existing.error_message,
  };
}

/** A request's hold on its Idempotency-Key, which the order services link their order to. */
export interface KeyClaim {
  userId: string;
  key: string;
  /** Tells this request's claim from a later one that took the key over. */
  token: string;
}

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
  // The key was taken over (this request ran past STALE_CLAIM_MINUTES): no order the key does not name.
  if (linked.numUpdatedRows === 0n) {
    throw new AppError('IDEMPOTENCY_KEY_IN_PROGRESS', 'Another request took over this Idempotency-Key; retry shortly', {
      context: { idempotency_key: running.key },
    });
  }
}

function paymentMethodOf(request: unknown): string {
  const method = (request as { paymentMethod?: unknown } | null)?.paymentMethod;
  if (typeof method !== 'string') throw new Error('an order request without a paymentMethod cannot be resumed');
  return method;
}

/**
 * Carries on with the order a stopped request had written: one still pending_payment is
 * charged again under the same gateway key (the gateway answers its first charge, if there
 * was one, instead of charging twice) and the answer recorded. Then it answers what the first
 * request would have: the order, or, when its payment failed, the decline (402) or gateway
 * failure (502) recorded for it.
 */
async function resume<Result>(
  deps: OrdersDeps,
  { scope, orderId }: { scope: IdempotencyScope; orderId: string },
  replay: (orderId: string) => Promise<Result>,
): Promise<Result> {
  deps.logger.info('idempotent_resume', {
    context: { idempotency_key: scope.key, operation: scope.operation, order_id: orderId },
  });
  const paymentMethod = paymentMethodOf(scope.request);
  const orderNow = () =>
    deps.db
      .selectFrom('orders')
      .select(ORDER_COLUMNS)
      .where('id', '=', orderId)
      .where('user_id', '=', scope.userId)
      .executeTakeFirst();
  const pending = await orderNow();
  if (pending?.status === 'pending_payment') await chargeAndRecord(deps, { order: pending, paymentMethod });
  const order = await orderNow();
  if (order?.status === 'payment_failed') {
    const last = await deps.db
      .selectFrom('payments')
      .select(['status', 'decline_code', 'failure_reason'])
      .where('order_id', '=', orderId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirst();
    throw paymentFailure(deps, {
      order,
      paymentMethod,
      failure:
        last?.status === 'declined' && last.decline_code !== null
          ? { declineCode: last.decline_code }
          : { unavailable: last?.failure_reason ?? 'no answer' },
    });
  }
  return replay(orderId);
}

/**
 * Writes what ends a request's hold on its key now, or, while the database is unreachable,
 * in the background once it is back: the client is not kept waiting, and the key is not left
 * claimed by a request that has ended (retries would wait on it for STALE_CLAIM_MINUTES).
 */
async function writeOrDefer(
  deps: OrdersDeps,
  { name, scope }: { name: string; scope: IdempotencyScope },
  write: () => Promise<unknown>,
): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    retryWhenDatabaseReturns(deps.logger, { name, context: { idempotency_key: scope.key } }, write);
  }
}

/**
 * Stripe's Idempotency-Key semantics for one user's request: the first request with a key
 * runs and its outcome is kept (the order, or the AppError it ended with); the same key with
 * the same request gets that outcome again without running anything; the same key with
 * another request is 409 IDEMPOTENCY_KEY_REUSED; a request arriving while the first still
 * runs waits for it. An unexpected failure (the database gone, say) forgets the key when no
 * order was written under it, so a retry runs again, and marks it interrupted when one was,
 * so a retry resumes that order (see `resume`): one key never makes two orders.
 */
export async function runIdempotent<Result>(
  deps: OrdersDeps,
  scope: IdempotencyScope,
  {
    run,
    replay,
  }: { run: (claim: KeyClaim) => Promise<Result & { id: string }>; replay: (orderId: string) => Promise<Result> },
): Promise<Result> {
  const claiming = { scope, fingerprint: fingerprintOf(scope), token: randomUUID() };
  const ours = () =>
    deps.db
      .updateTable('idempotency_keys')
      .where('user_id', '=', scope.userId)
      .where('key', '=', scope.key)
      .where('claimed_by', '=', claiming.token);
  const release = async () => {
    // Nothing was written under the key: forget it, so a retry starts afresh.
    await deps.db
      .deleteFrom('idempotency_keys')
      .where('user_id', '=', scope.userId)
      .where('key', '=', scope.key)
      .where('claimed_by', '=', claiming.token)
      .where('state', '=', 'in_progress')
      .where('order_id', 'is', null)
      .execute();
    // An order was: a retry with the key resumes it rather than making another.
    await ours()
      .set({ state: 'interrupted' })
      .where('state', '=', 'in_progress')
      .where('order_id', 'is not', null)
      .execute();
  };
  const finish = (values: { order_id?: string; error_code?: string; error_message?: string }) => () =>
    ours()
      .set({ state: 'done', ...values })
      .execute();

  let outcome: Claim | 'busy';
  try {
    const deadline = Date.now() + WAIT_FOR_FIRST_MS;
    outcome = await claim(deps.db, claiming);
    while (outcome === 'busy') {
      if (Date.now() > deadline) {
        throw new AppError(
          'IDEMPOTENCY_KEY_IN_PROGRESS',
          'A request with this Idempotency-Key is still running; retry shortly',
          {
            context: { idempotency_key: scope.key },
          },
        );
      }
      await sleep(50);
      outcome = await claim(deps.db, claiming);
    }
  } catch (error) {
    // The claim may be written although its acknowledgement was lost: let it go once the database is back.
    if (isDatabaseUnavailable(error)) {
      retryWhenDatabaseReturns(
        deps.logger,
        { name: 'idempotency_key_release', context: { idempotency_key: scope.key } },
        release,
      );
    }
    throw error;
  }

  if (!outcome.owned) {
    deps.logger.info('idempotent_replay', {
      context: { idempotency_key: scope.key, operation: scope.operation, order_id: outcome.orderId },
    });
    if (outcome.errorCode !== null && isErrorCode(outcome.errorCode)) {
      throw new AppError(outcome.errorCode, outcome.errorMessage ?? 'The first request with this key failed', {
        context: { idempotency_key: scope.key, replayed: true, order_id: outcome.orderId },
      });
    }
    if (outcome.orderId === null) throw new Error(`idempotency key ${scope.key} is done without an outcome`);
    return replay(outcome.orderId);
  }

  const resumeOrderId = outcome.resumeOrderId;
  try {
    const result =
      resumeOrderId === null
        ? await run({ userId: scope.userId, key: scope.key, token: claiming.token })
        : await resume(deps, { scope, orderId: resumeOrderId }, replay);
    const orderId = resumeOrderId ?? (result as { id: string }).id;
    await writeOrDefer(deps, { name: 'idempotency_key_done', scope }, finish({ order_id: orderId }));
    return result;
  } catch (error) {
    if (error instanceof AppError) {
      // The order the error names; else the key keeps the order it was linked to, if any.
      const orderId = typeof error.context?.order_id === 'string' ? error.context.order_id : undefined;
      await writeOrDefer(
        deps,
        { name: 'idempotency_key_done', scope },
        finish({
          ...(orderId === undefined ? {} : { order_id: orderId }),
          error_code: error.code,
          error_message: error.message,
        }),
      );
    } else {
      await writeOrDefer(deps, { name: 'idempotency_key_release', scope }, release);
    }
    throw error;
  }
}
