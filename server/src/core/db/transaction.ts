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
  if (activeTracer() === undefined) return loggedTransaction(deps, name, fn);
  // A span around it when tracing: its statements are its children, its outcome an attribute.
  const attributes = { 'db.system.name': 'postgresql', 'db.transaction.name': name };
  return withSpan(`transaction ${name}`, { attributes }, async (span) => {
    try {
      const result = await loggedTransaction(deps, name, fn);
      span?.setAttribute('db.transaction.outcome', 'commit');
      return result;
    } catch (error) {
      span?.setAttribute('db.transaction.outcome', 'rollback');
      throw error;
    }
  });
}

async function loggedTransaction<Result>(
  { db, logger }: { db: Db; logger: Logger },
  name: string,
  fn: (trx: Trx) => Promise<Result>,
): Promise<Result> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
  try {
    const result = await db.transaction().execute(fn);
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
