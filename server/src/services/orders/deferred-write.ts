import { setTimeout as sleep } from 'node:timers/promises';
import { isDatabaseUnavailable } from '../../core/db/database-errors.ts';
import type { Logger } from '../../core/logging/logger.ts';

/** How long a write is retried after its request has answered; past it, a retry of the request resumes the work. */
const RETRY_FOR_MS = 120_000;
const FIRST_DELAY_MS = 100;
/** The longest pause between two tries: once the database is back, the write lands within it. */
const MAX_DELAY_MS = 1_000;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Tries `write` again in the background until the database takes it, after the request that
 * needed it has answered 503. For writes that record what already happened outside the
 * database (the gateway's answer to a charge, the end of an idempotent request): a database
 * outage must delay them, not lose them. Only "database unreachable" failures are retried;
 * any other failure, or RETRY_FOR_MS without success, is logged and the write dropped. The
 * pauses do not keep the process alive, so shutdown is never held up by them.
 */
export function retryWhenDatabaseReturns(
  logger: Logger,
  { name, context }: { name: string; context: Record<string, unknown> },
  write: () => Promise<unknown>,
): void {
  logger.warn('db_write_deferred', {
    name,
    reason: 'The database is unreachable; retrying in the background',
    context,
  });
  const deadline = Date.now() + RETRY_FOR_MS;
  const retry = async () => {
    for (let attempt = 1, delay = FIRST_DELAY_MS; ; attempt++, delay = Math.min(delay * 2, MAX_DELAY_MS)) {
      await sleep(delay, undefined, { ref: false });
      try {
        await write();
        logger.info('db_write_recovered', { name, attempts: attempt, context });
        return;
      } catch (error) {
        if (!isDatabaseUnavailable(error) || Date.now() > deadline) {
          logger.error('db_write_abandoned', { name, attempts: attempt, reason: messageOf(error), context });
          return;
        }
      }
    }
  };
  void retry();
}
