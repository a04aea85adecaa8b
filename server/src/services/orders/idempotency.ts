import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrorCode } from '@orders/shared';
import { sql } from 'kysely';
import type { Db } from '../../core/db.ts';
import { AppError } from '../../core/errors.ts';
import type { Logger } from '../../core/logging.ts';

/** Keys are remembered this long, as at Stripe. */
const KEY_TTL_HOURS = 24;
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
  { owned: true } | { owned: false; orderId: string | null; errorCode: string | null; errorMessage: string | null };

async function claim(db: Db, scope: IdempotencyScope, fingerprint: string): Promise<Claim | 'busy'> {
  const inserted = await db
    .insertInto('idempotency_keys')
    .values({ user_id: scope.userId, key: scope.key, operation: scope.operation, fingerprint, state: 'in_progress' })
    .onConflict((conflict) =>
      conflict
        .columns(['user_id', 'key'])
        .doUpdateSet({
          operation: scope.operation,
          fingerprint,
          state: 'in_progress',
          order_id: null,
          error_code: null,
          error_message: null,
          created_at: sql`now()`,
        })
        // Take the key over only when it has expired, or its first request died mid-way.
        .where((eb) =>
          eb.or([
            eb('idempotency_keys.created_at', '<', sql<Date>`now() - make_interval(hours => ${KEY_TTL_HOURS})`),
            eb.and([
              eb('idempotency_keys.state', '=', 'in_progress'),
              eb('idempotency_keys.created_at', '<', sql<Date>`now() - make_interval(mins => ${STALE_CLAIM_MINUTES})`),
            ]),
          ]),
        ),
    )
    .returning('key')
    .executeTakeFirst();
  if (inserted) return { owned: true };

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
  if (existing.state === 'in_progress') return 'busy';
  return {
    owned: false,
    orderId: existing.order_id,
    errorCode: existing.error_code,
    errorMessage: existing.error_message,
  };
}

/**
 * Stripe's Idempotency-Key semantics for one user's request: the first request with a key
 * runs and its outcome is kept (the order, or the AppError it ended with); the same key with
 * the same request gets that outcome again without running anything; the same key with
 * another request is 409 IDEMPOTENCY_KEY_REUSED; a request arriving while the first still
 * runs waits for it. An unexpected failure forgets the key, so the request can be retried.
 */
export async function runIdempotent<Result>(
  deps: { db: Db; logger: Logger },
  scope: IdempotencyScope,
  { run, replay }: { run: () => Promise<Result & { id: string }>; replay: (orderId: string) => Promise<Result> },
): Promise<Result> {
  const fingerprint = fingerprintOf(scope);
  const where = { user_id: scope.userId, key: scope.key } as const;
  const deadline = Date.now() + WAIT_FOR_FIRST_MS;
  let outcome = await claim(deps.db, scope, fingerprint);
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
    outcome = await claim(deps.db, scope, fingerprint);
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

  const finish = (values: { order_id: string | null; error_code?: string; error_message?: string }) =>
    deps.db
      .updateTable('idempotency_keys')
      .set({ state: 'done', ...values })
      .where('user_id', '=', where.user_id)
      .where('key', '=', where.key)
      .execute();
  try {
    const result = await run();
    await finish({ order_id: result.id });
    return result;
  } catch (error) {
    if (error instanceof AppError) {
      const orderId = typeof error.context?.order_id === 'string' ? error.context.order_id : null;
      await finish({ order_id: orderId, error_code: error.code, error_message: error.message });
    } else {
      await deps.db
        .deleteFrom('idempotency_keys')
        .where('user_id', '=', where.user_id)
        .where('key', '=', where.key)
        .execute();
    }
    throw error;
  }
}
