import { createMigrator } from '@orders/migrations';
import type { Db } from './database.ts';

export interface Readiness {
  ready: boolean;
  checks: { database: 'ok' | 'unreachable'; migrations: 'ok' | 'pending' | 'unknown' };
  pending_migrations?: string[];
}

function withTimeout<Result>(promise: Promise<Result>, ms: number): Promise<Result> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Ready means: the database answers, and every migration this build ships has been applied.
 * Each check is bounded in time, so /readyz answers promptly even when the database hangs.
 */
export function createReadinessCheck({
  db,
  ping,
  timeoutMs = 2_000,
}: {
  db: Db;
  ping: () => Promise<void>;
  timeoutMs?: number;
}) {
  const migrator = createMigrator(db);
  return async function checkReadiness(): Promise<Readiness> {
    try {
      await withTimeout(ping(), timeoutMs);
    } catch {
      return { ready: false, checks: { database: 'unreachable', migrations: 'unknown' } };
    }
    try {
      const migrations = await withTimeout(migrator.getMigrations(), timeoutMs);
      const pending = migrations.filter((migration) => migration.executedAt === undefined).map((m) => m.name);
      return pending.length === 0
        ? { ready: true, checks: { database: 'ok', migrations: 'ok' } }
        : { ready: false, checks: { database: 'ok', migrations: 'pending' }, pending_migrations: pending };
    } catch {
      return { ready: false, checks: { database: 'ok', migrations: 'unknown' } };
    }
  };
}
