import { sql } from 'kysely';
import type { Db } from './db/database.ts';

export interface RateLimitDecision {
  allowed: boolean;
  count: number;
  retryAfterSeconds: number;
}

/**
 * Fixed-window counters kept in the database, so a limit holds across every worker and
 * every instance that shares it (and, on the embedded database, in its one process). One
 * atomic upsert per hit: the first hit of a window starts it, later hits count up.
 */
export function createRateLimiter(db: Db, { windowSeconds }: { windowSeconds: number }) {
  const window = sql`make_interval(secs => ${windowSeconds})`;
  let hits = 0;

  async function sweepExpired(): Promise<void> {
    await db
      .deleteFrom('rate_limits')
      .where('window_ends_at', '<', sql<Date>`now() - interval '1 hour'`)
      .execute();
  }

  return {
    windowSeconds,
    /** Counts one hit on `key` and says whether it is within `max` for the current window. */
    async hit(key: string, max: number): Promise<RateLimitDecision> {
      const row = await db
        .insertInto('rate_limits')
        .values({ key, count: 1, window_ends_at: sql<Date>`now() + ${window}` })
        .onConflict((conflict) =>
          conflict.column('key').doUpdateSet({
            count: sql<number>`case when rate_limits.window_ends_at <= now() then 1 else rate_limits.count + 1 end`,
            window_ends_at: sql<Date>`case when rate_limits.window_ends_at <= now() then now() + ${window} else rate_limits.window_ends_at end`,
          }),
        )
        .returning(['count', sql<number>`ceil(extract(epoch from (window_ends_at - now())))`.as('seconds_left')])
        .executeTakeFirstOrThrow();
      if (++hits % 1000 === 0) await sweepExpired();
      return {
        allowed: row.count <= max,
        count: row.count,
        retryAfterSeconds: Math.max(1, Number(row.seconds_left)),
      };
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
