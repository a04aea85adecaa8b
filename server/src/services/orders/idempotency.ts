import { randomUUID } from 'node:crypto';
import type { Order } from '@orders/shared';
import { isDatabaseUnavailable } from '../../core/db/database-errors.ts';
import { AppError } from '../../core/errors.ts';
import { retryWhenDatabaseReturns } from './deferred-write.ts';
import type { OrdersDeps } from './deps.ts';
import { claimKey, fingerprintOf, type Claim, type IdempotencyScope, type KeyClaim } from './idempotency-claim.ts';
import { finishKey, releaseKey, writeOrDefer, type KeyOutcome } from './idempotency-record.ts';
import { replayOutcome } from './idempotency-replay.ts';
import { resumeOrder } from './idempotency-resume.ts';
import { getOrder } from './queries.ts';

/** What a keyed request runs, and how it answers a key already done. */
interface KeyedWork<Result> {
  run: (claim: KeyClaim) => Promise<Result & { id: string }>;
  replay: (orderId: string) => Promise<Result>;
}

/**
 * Stripe's Idempotency-Key semantics for one user's request: the first request with a key
 * runs and its outcome is kept (the order, or the AppError it ended with); the same key with
 * the same request gets that outcome again without running anything; the same key with
 * another request is 409 IDEMPOTENCY_KEY_REUSED; a request arriving while the first still
 * runs waits for it. An unexpected failure (the database gone, say) forgets the key when no
 * order was written under it, so a retry runs again, and marks it interrupted when one was,
 * so a retry resumes that order (see `resumeOrder`): one key never makes two orders.
 */
export async function runIdempotent<Result>(
  deps: OrdersDeps,
  scope: IdempotencyScope,
  {
    claimsNewKey = false,
    ...work
  }: KeyedWork<Result> & {
    /** `run`'s first statement claims a new key itself (see `KeyClaim.unclaimed`). */
    claimsNewKey?: boolean;
  },
): Promise<Result> {
  const running: KeyClaim = { userId: scope.userId, key: scope.key, token: randomUUID() };
  if (claimsNewKey) {
    const unclaimed = { operation: scope.operation, fingerprint: fingerprintOf(scope) };
    try {
      return await runOwned(deps, { scope, running: { ...running, unclaimed }, resumeOrderId: null }, work);
    } catch (error) {
      // The key was there already and nothing was written: claim it the usual way.
      if (!(error instanceof KeyNotNew)) throw error;
    }
  }

  const claim = await claimOrRelease(deps, scope, running);
  if (!claim.owned) return replayOutcome(deps, { scope, done: claim }, work.replay);
  return runOwned(deps, { scope, running, resumeOrderId: claim.resumeOrderId }, work);
}

/** Thrown by a run whose statement was to claim a new key, and found the key there already. */
export class KeyNotNew extends Error {
  constructor() {
    super('the Idempotency-Key was there already: claim it the usual way');
  }
}

async function claimOrRelease(deps: OrdersDeps, scope: IdempotencyScope, running: KeyClaim): Promise<Claim> {
  try {
    return await claimKey(deps.db, { scope, token: running.token });
  } catch (error) {
    // The claim may be written although its acknowledgement was lost: let it go once the database is back.
    if (isDatabaseUnavailable(error)) {
      retryWhenDatabaseReturns(
        deps.logger,
        { name: 'idempotency_key_release', context: { idempotency_key: scope.key } },
        () => releaseKey(deps.db, running),
      );
    }
    throw error;
  }
}

/**
 * Runs (or resumes) the request that holds the key, and keeps its outcome in the key: done with
 * the order or the AppError, released on an unexpected failure.
 */
async function runOwned<Result>(
  deps: OrdersDeps,
  { scope, running, resumeOrderId }: { scope: IdempotencyScope; running: KeyClaim; resumeOrderId: string | null },
  { run, replay }: KeyedWork<Result>,
): Promise<Result> {
  const finish = async (outcome: KeyOutcome) => {
    if (running.finished) return;
    await writeOrDefer(deps, { name: 'idempotency_key_done', key: scope.key }, () =>
      finishKey(deps.db, running, outcome),
    );
  };
  try {
    const result =
      resumeOrderId === null ? await run(running) : await resumeOrder(deps, { scope, orderId: resumeOrderId }, replay);
    await finish({ order_id: resumeOrderId ?? (result as { id: string }).id });
    return result;
  } catch (error) {
    // Nothing was claimed or written: the caller claims the key the usual way.
    if (error instanceof KeyNotNew) throw error;
    if (error instanceof AppError) {
      // The order the error names; else the key keeps the order it was linked to, if any.
      const orderId = typeof error.context?.order_id === 'string' ? error.context.order_id : undefined;
      await finish({
        ...(orderId === undefined ? {} : { order_id: orderId }),
        error_code: error.code,
        error_message: error.message,
      });
    } else {
      await writeOrDefer(deps, { name: 'idempotency_key_release', key: scope.key }, () => releaseKey(deps.db, running));
    }
    throw error;
  }
}

/** An order-placing request, as the order services run it under its Idempotency-Key. */
export interface OrderRequest {
  userId: string;
  /** The request's Idempotency-Key header; undefined when it has none. */
  idempotencyKey: string | undefined;
  operation: IdempotencyScope['operation'];
  /** What is asked (the procedure's input): a retry with the key must ask the same. */
  request: unknown;
}

/**
 * Places (or pays) an order under the request's Idempotency-Key, when it has one: `place`
 * links the order it writes to the key (`linkOrderToIdempotencyKey`), and a replay answers the
 * first outcome (the order as it is now, or the first error) without charging again.
 */
export function withIdempotencyKey(
  deps: OrdersDeps,
  { userId, idempotencyKey, operation, request }: OrderRequest,
  {
    place,
    claimsNewKey = false,
  }: {
    place: (keyClaim: KeyClaim | undefined) => Promise<Order>;
    /** `place`'s first statement claims a new key itself (see `KeyClaim.unclaimed`). */
    claimsNewKey?: boolean;
  },
): Promise<Order> {
  if (idempotencyKey === undefined) return place(undefined);
  // The order a key names is always its requester's own.
  const actor = { id: userId, role: 'customer' as const };
  return runIdempotent(
    deps,
    { userId, key: idempotencyKey, operation, request },
    {
      run: place,
      replay: (orderId) => getOrder(deps.db, { orderId, actor }),
      claimsNewKey,
    },
  );
}
