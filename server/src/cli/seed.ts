import { migrateToLatest } from '../core/db/migrations.ts';
import { DEMO_CUSTOMER, seedDemoOrders, seedDemoProducts, seedUsers } from '../services/seed.ts';
import { openToolContext } from './tool-context.ts';

/** `pnpm db:seed`: migrates, then inserts the demo data that is missing. Safe to run again. */
const { config, logger, database } = await openToolContext();
try {
  await migrateToLatest(database.db, logger);
  const products = await seedDemoProducts(database.db);
  const users = await seedUsers(database.db, config.admin);
  const orders = await seedDemoOrders({ db: database.db, logger });
  process.stdout.write(
    [
      `seeded: ${products} new demo products`,
      config.admin.password
        ? `admin ${config.admin.email}: ${users.adminCreated ? 'created' : 'exists already'}`
        : 'admin: skipped (set ADMIN_PASSWORD to create one)',
      `demo customer ${DEMO_CUSTOMER.email} / ${DEMO_CUSTOMER.password}: ${users.customerCreated ? 'created' : 'exists already'}`,
      `demo orders: ${orders} new`,
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
