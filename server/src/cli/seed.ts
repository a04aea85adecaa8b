import { migrateToLatest } from '../core/migrations.ts';
import { seedDemoProducts } from '../services/seed.ts';
import { openToolContext } from './tool-context.ts';

/** `pnpm db:seed`: migrates, then inserts the demo data that is missing. Safe to run again. */
const { logger, database } = await openToolContext();
try {
  await migrateToLatest(database.db, logger);
  const products = await seedDemoProducts(database.db);
  process.stdout.write(`seeded: ${products} new demo products\n`);
} catch (error) {
  logger.error('db_seed_failed', { error });
  process.exitCode = 1;
} finally {
  await database.close();
  await logger.flush();
}
