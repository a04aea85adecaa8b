import { sweepExpiredRows, SWEPT_TABLES } from '../services/sweep.ts';
import { openToolContext } from './tool-context.ts';

/**
 * `pnpm db:sweep`: deletes once what the server's periodic sweep deletes (for a deployment that
 * runs it from a scheduler with SWEEP_INTERVAL_SECONDS=0), and prints the counts.
 */
const { config, logger, database } = await openToolContext();
try {
  const result = await sweepExpiredRows({ db: database.db, logger }, { batchSize: config.sweep.batchSize });
  process.stdout.write(
    [
      ...(result.outcome === 'skipped' ? ['skipped: another instance is sweeping; it deletes the rest'] : []),
      ...SWEPT_TABLES.map((table) => `${table}: ${result.deleted[table]} deleted`),
      '',
    ].join('\n'),
  );
} catch (error) {
  logger.error('sweep_failed', { reason: error instanceof Error ? error.message : String(error), error });
  process.exitCode = 1;
} finally {
  await database.close();
  await logger.flush();
}
