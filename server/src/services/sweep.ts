import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Db } from '../core/db/database.ts';
import type { Logger } from '../core/logging/logger.ts';
import { withTransaction, type Trx } from '../core/db/transaction.ts';
import { KEY_TTL_HOURS as IDEMPOTENCY_KEY_TTL_HOURS } from './orders/idempotency-claim.ts';

/**
 * The transaction-scoped advisory lock each batch of a sweep holds, one number for the whole
 * database ('sweep' in ASCII). Transaction-scoped because a session lock would stay with a
 * pooled server connection behind PgBouncer's transaction pooling, not with this process.
 */
export const SWEEP_LOCK_ID = 0x73_77_65_65_70;

/** A clock of an instance running behind the database's still sees an expired token as live this long. */
const EXPIRED_REFRESH_TOKEN_MARGIN_HOURS = 1;
/** How long a revoked token (not a replaced one) still answers `Refresh Token Revoked` rather than unknown. */
const REVOKED_REFRESH_TOKEN_KEPT_DAYS = 7;

export const SWEPT_TABLES = ['refresh_tokens', 'idempotency_keys', 'rate_limits'] as const;
export type SweptTable = (typeof SWEPT_TABLES)[number];

/**
 * Deletes at most `limit` rows of one table that no request can need any more, and answers how
 * many. Rows another transaction holds (a refresh spending its token, a hit on its window) are
 * skipped, not waited for: the next sweep gets them.
 */
const deleteBatch: Record<SweptTable, (trx: Trx, limit: number) => Promise<bigint>> = {
  /**
   * A refresh token's row goes once no answer depends on it:
   * - expired over the margin: its JWT's `exp` is never later than the row's `expires_at`, so
   *   the token is refused as `Expired Token` before its row is read;
   * - revoked with no successor (`replaced_by` null) over a week ago: that token was revoked by
   *   a logout, by reuse detection or by disabling its user, and each ends its whole family (a
   *   family has at most one unrevoked token: this one, or one revoked with it), so presenting
   *   it is refused with or without the row; the week only keeps its refusal logged as
   *   `Refresh Token Revoked` rather than `Unknown Refresh Token`.
   * A replaced token (spent by a rotation) is kept until it expires, however long ago it was
   * spent: its row is how a replay of it is told from an unknown token, and a replay revokes
   * the family, whose live token a thief may hold (`Refresh Token Reused`).
   */
  refresh_tokens: async (trx, limit) => {
    const result = await trx
      .deleteFrom('refresh_tokens')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('refresh_tokens')
          .select('id')
          .where((where) =>
            where.or([
              where(
                'expires_at',
                '<',
                sql<Date>`now() - make_interval(hours => ${EXPIRED_REFRESH_TOKEN_MARGIN_HOURS})`,
              ),
              where.and([
                where('replaced_by', 'is', null),
                where('revoked_at', '<', sql<Date>`now() - make_interval(days => ${REVOKED_REFRESH_TOKEN_KEPT_DAYS})`),
              ]),
            ]),
          )
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .executeTakeFirst();
    return result.numDeletedRows;
  },
  /** Past its retention a key is taken over by the next request with it as if new: nothing reads it. */
  idempotency_keys: async (trx, limit) => {
    const result = await trx
      .deleteFrom('idempotency_keys')
      .where((eb) =>
        eb(
          eb.refTuple('user_id', 'key'),
          'in',
          eb
            .selectFrom('idempotency_keys')
            .select(['user_id', 'key'])
            .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${IDEMPOTENCY_KEY_TTL_HOURS})`)
            .limit(limit)
            .forUpdate()
            .skipLocked()
            .$asTuple('user_id', 'key'),
        ),
      )
      .executeTakeFirst();
    return result.numDeletedRows;
  },
  /** An ended window counts for nothing: the next hit on its key starts a new one, row or not. */
  rate_limits: async (trx, limit) => {
    const result = await trx
      .deleteFrom('rate_limits')
      .where('key', 'in', (eb) =>
        eb
          .selectFrom('rate_limits')
          .select('key')
          .where('window_ends_at', '<', sql<Date>`now()`)
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .executeTakeFirst();
    return result.numDeletedRows;
  },
};

export interface SweepOptions {
  /** Rows deleted per statement, each statement in a transaction of its own. */
  batchSize: number;
  /** Aborted (on shutdown): the sweep stops after the batch it is deleting. */
  signal?: AbortSignal | undefined;
}

export interface SweepResult {
  /**
   * `completed`: nothing is left to delete; `skipped`: another instance held the lock, so this
   * one left the rest to it; `stopped`: `signal` was aborted.
   */
  outcome: 'completed' | 'skipped' | 'stopped';
  /** Rows this sweep deleted, by table. */
  deleted: Record<SweptTable, number>;
  durationMs: number;
}

type BatchOutcome = { deleted: number } | 'locked elsewhere';

/** One batch in its own short transaction, run only while this instance holds the sweep lock. */
function sweepBatch(deps: { db: Db; logger: Logger }, { table, limit }: { table: SweptTable; limit: number }) {
  return withTransaction(deps, `sweep_${table}`, async (trx): Promise<BatchOutcome> => {
    const { rows } = await sql<{ locked: boolean }>`
      select pg_try_advisory_xact_lock(${SWEEP_LOCK_ID}::bigint) as locked`.execute(trx);
    if (rows[0]?.locked !== true) return 'locked elsewhere';
    return { deleted: Number(await deleteBatch[table](trx, limit)) };
  });
}

/**
 * Deletes, in batches, the rows of `SWEPT_TABLES` nothing can need any more, and writes one
 * `sweep_completed` line with the counts. Instances sharing the database take turns: each
 * batch holds a transaction-scoped advisory lock, and a sweep that finds it taken stops
 * (`skipped`), since the instance holding it is sweeping the same rows.
 *
 * @example
 * const { deleted } = await sweepExpiredRows({ db, logger }, { batchSize: 1000 });
 */
export async function sweepExpiredRows(
  deps: { db: Db; logger: Logger },
  { batchSize, signal }: SweepOptions,
): Promise<SweepResult> {
  const started = performance.now();
  const deleted: Record<SweptTable, number> = { refresh_tokens: 0, idempotency_keys: 0, rate_limits: 0 };
  const sweepTables = async (): Promise<SweepResult['outcome']> => {
    for (const table of SWEPT_TABLES) {
      for (;;) {
        if (signal?.aborted) return 'stopped';
        const batch = await sweepBatch(deps, { table, limit: batchSize });
        if (batch === 'locked elsewhere') return 'skipped';
        deleted[table] += batch.deleted;
        if (batch.deleted < batchSize) break;
        // Embedded PGlite answers without I/O: without this, a long sweep would hold the event
        // loop, and with it every request and a shutdown signal, until it ends.
        await nextTurn();
      }
    }
    return 'completed';
  };
  const outcome = await sweepTables();
  const durationMs = Math.round((performance.now() - started) * 100) / 100;
  deps.logger.info('sweep_completed', { outcome, deleted, duration_ms: durationMs });
  return { outcome, deleted, durationMs };
}
