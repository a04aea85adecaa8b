import type { Transaction } from 'kysely';
import type { Database } from '../../models/index.ts';
import type { Db } from './database.ts';
import type { Logger } from '../logging/logger.ts';
import { activeTracer, withSpan } from '../telemetry/tracing.ts';

export type Trx = Transaction<Database>;

/**
 * Runs `fn` in one transaction and writes a `db_transaction` line (name, outcome,
 * duration_ms, and the error on rollback) in every environment.
 *
 * @example
 * const order = await withTransaction({ db, logger }, 'create_order', (trx) => insertOrder(trx, input));
 */
export function withTransaction<Result>(
  deps: { db: Db; logger: Logger },
  name: string,
  fn: (trx: Trx) => Promise<Result>,
): Promise<Result> {
  return observed(deps, name, () => deps.db.transaction().execute(fn));
}

/**
 * A transaction of one statement, which PostgreSQL runs atomically on its own: no BEGIN and
 * COMMIT round trips. For work written as one statement (several tables in common table
 * expressions) whose every change is conditional on its checks, so that a refusal changes
 * nothing. Logged and traced as `withTransaction`'s are: `rollback` when `fn` throws. Bounded by
 * the role's or database's `statement_timeout`, as every statement outside a transaction is
 * (transaction-timeout.ts).
 */
export function withOneStatement<Result>(
  deps: { db: Db; logger: Logger },
  name: string,
  fn: (db: Db) => Promise<Result>,
): Promise<Result> {
  return observed(deps, name, () => fn(deps.db));
}

function observed<Result>(deps: { db: Db; logger: Logger }, name: string, run: () => Promise<Result>): Promise<Result> {
  if (activeTracer() === undefined) return logged(deps.logger, name, run);
  // A span around it when tracing: its statements are its children, its outcome an attribute.
  const attributes = { 'db.system.name': 'postgresql', 'db.transaction.name': name };
  return withSpan(`transaction ${name}`, { attributes }, async (span) => {
    try {
      const result = await logged(deps.logger, name, run);
      span?.setAttribute('db.transaction.outcome', 'commit');
      return result;
    } catch (error) {
      span?.setAttribute('db.transaction.outcome', 'rollback');
      throw error;
    }
  });
}

async function logged<Result>(logger: Logger, name: string, run: () => Promise<Result>): Promise<Result> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
  try {
    const result = await run();
    logger.info('db_transaction', { name, outcome: 'commit', duration_ms: elapsed() });
    return result;
  } catch (error) {
    logger.warn('db_transaction', {
      name,
      outcome: 'rollback',
      duration_ms: elapsed(),
      error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
    });
    throw error;
  }
}
