import { migrateDown, migrateToLatest, migrationStatus } from '../core/db/migrations.ts';
import { openToolContext } from './tool-context.ts';

/** `pnpm db:migrate [latest|down|status]` */
const command = process.argv[2] ?? 'latest';
if (!['latest', 'down', 'status'].includes(command)) {
  process.stderr.write('usage: pnpm db:migrate [latest|down|status]\n');
  process.exit(2);
}

const { logger, database } = await openToolContext();
try {
  if (command === 'latest') {
    const { applied } = await migrateToLatest(database.db, logger);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already at the latest migration\n');
  } else if (command === 'down') {
    const reverted = await migrateDown(database.db, logger);
    process.stdout.write(reverted.length ? `reverted: ${reverted.join(', ')}\n` : 'nothing to revert\n');
  } else {
    for (const migration of await migrationStatus(database.db)) {
      process.stdout.write(
        `${migration.executedAt ? 'applied' : 'pending'}  ${migration.name}${migration.executedAt ? `  (${migration.executedAt})` : ''}\n`,
      );
    }
  }
} catch (error) {
  logger.error('db_migration_failed', { error });
  process.exitCode = 1;
} finally {
  await database.close();
  await logger.flush();
}
