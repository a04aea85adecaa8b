import { createMigrator } from '@orders/migrations';
import type { MigrationResultSet } from 'kysely';
import type { Db } from './database.ts';
import type { Logger } from '../logging/logger.ts';

export interface MigrationOutcome {
  applied: string[];
  /** True when the database had no migration applied before: a brand-new database. */
  wasEmpty: boolean;
}

function throwOnError(set: MigrationResultSet, logger: Logger): string[] {
  for (const result of set.results ?? []) {
    logger.info('db_migration', { name: result.migrationName, direction: result.direction, status: result.status });
  }
  if (set.error !== undefined) {
    throw new Error('Migration failed', { cause: set.error });
  }
  return (set.results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
}

export async function migrateToLatest(db: Db, logger: Logger): Promise<MigrationOutcome> {
  const migrator = createMigrator(db);
  const before = await migrator.getMigrations();
  const applied = throwOnError(await migrator.migrateToLatest(), logger);
  return { applied, wasEmpty: before.every((migration) => migration.executedAt === undefined) };
}

export async function migrateDown(db: Db, logger: Logger): Promise<string[]> {
  return throwOnError(await createMigrator(db).migrateDown(), logger);
}

export async function migrationStatus(db: Db) {
  const migrations = await createMigrator(db).getMigrations();
  return migrations.map((migration) => ({
    name: migration.name,
    executedAt: migration.executedAt?.toISOString() ?? null,
  }));
}
