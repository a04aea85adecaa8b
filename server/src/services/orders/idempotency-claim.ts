import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Db } from '../../core/db/database.ts';
import { AppError } from '../../core/errors.ts';

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

/** A request's hold on its Idempotency-Key, which the order services link their order to. */
export interface KeyClaim {
  userId: string;
  key: string;
  /** Tells this request's claim from a later one that took the key over. */
  token: string;
  /** Set once the key was marked done in the statement that recorded the payment: nothing left to write. */
  finished?: boolean;
  /**
   * Set while the key is not claimed yet: the request's first statement claims it, if the key
   * is new (a first request, the common case, then claims and places in one round trip), and
   * says so; a key seen before is claimed the usual way (`claimKey`) and the request run again.
   */
  unclaimed?: NewKey;
}

/** What a statement that claims a new key writes beside the claim's user, key and token. */
export interface NewKey {
  operation: IdempotencyScope['operation'];
  fingerprint: string;
}

/** What claiming a key found: the key is this request's to run (or resume), or done already. */
export type Claim = OwnedClaim | DoneClaim;
export interface OwnedClaim {
  owned: true;
  /** The order a stopped request with this key wrote, to carry on with; null to start afresh. */
  resumeOrderId: string | null;
}
export interface DoneClaim {
  owned: false;
  orderId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
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

export function fingerprintOf(scope: IdempotencyScope): string {
  return createHash('sha256')
    .update(JSON.stringify([scope.operation, canonical(scope.request)]))
    .digest('hex');
}

const EXPIRED = sql<boolean>`idempotency_keys.created_at < now() - make_interval(hours => ${KEY_TTL_HOURS})`;
const STALE = sql<boolean>`idempotency_keys.state = 'in_progress'
  and idempotency_keys.created_at < now() - make_interval(mins => ${STALE_CLAIM_MINUTES})`;

/** One try at the key: 'busy' while another request holds it. */
async function tryClaim(
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

/**
 * Claims the scope's key for the request `token` names. A key another request holds is
 * waited for (its outcome is then this request's too), up to WAIT_FOR_FIRST_MS, past which it
 * is 409 IDEMPOTENCY_KEY_IN_PROGRESS; the same key with another request is 409
 * IDEMPOTENCY_KEY_REUSED. A key is taken over when it has expired (KEY_TTL_HOURS), or its
 * request died (STALE_CLAIM_MINUTES) or was interrupted after writing an order.
 */
export async function claimKey(db: Db, { scope, token }: { scope: IdempotencyScope; token: string }): Promise<Claim> {
  const claiming = { scope, fingerprint: fingerprintOf(scope), token };
  const deadline = Date.now() + WAIT_FOR_FIRST_MS;
  let outcome = await tryClaim(db, claiming);
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
    outcome = await tryClaim(db, claiming);
  }
  return outcome;
}
