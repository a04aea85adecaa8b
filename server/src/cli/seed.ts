import { migrateToLatest } from '../core/db/migrations.ts';
import { DEMO_CUSTOMER, seedDatabase } from '../services/seed.ts';
import { openToolContext } from './tool-context.ts';

/**
 * `pnpm db:seed`: migrates, then inserts the admin (ADMIN_EMAIL / ADMIN_PASSWORD) and, in
 * local development or with SEED_DEMO_DATA=true, the demo data that is missing. Safe to run again.
 */
const { config, logger, database } = await openToolContext();
try {
  await migrateToLatest(database.db, logger);
  const seeded = await seedDatabase({ db: database.db, logger }, { admin: config.admin, ...config.seed });
  const demoLines = seeded.demoData
    ? [
        `seeded: ${seeded.products} new demo products`,
        `demo customer ${DEMO_CUSTOMER.email} / ${DEMO_CUSTOMER.password}: ${seeded.customerCreated ? 'created' : 'exists already'}`,
        `demo orders: ${seeded.orders} new`,
      ]
    : ['demo data: skipped (only in development on a loopback HOST, or with SEED_DEMO_DATA=true)'];
  process.stdout.write(
    [
      seeded.admin === 'skipped'
        ? 'admin: skipped (set ADMIN_PASSWORD to create one)'
        : `admin ${config.admin.email}: ${seeded.admin === 'created' ? 'created' : 'exists already'}`,
      ...demoLines,
      '',
    ].join('\n'),
  );
} catch (error) {
  logger.error('db_seed_failed', { error });
  process.exitCode = 1;
} finally {
  await database.close();
  await logger.flush();
}
