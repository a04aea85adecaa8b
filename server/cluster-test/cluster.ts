import { execFileSync } from 'node:child_process';
import { sql } from 'kysely';
import type { Db } from '../src/core/db/database.ts';
import { createLogger } from '../src/core/logging/logger.ts';
import { LogCapture } from '../test/log-capture.ts';
import { REPO_ROOT } from '../test/test-results.ts';
import { createTestDatabase, TEST_SERVER_URL } from '../test/test-database.ts';
import { freePort, startPgBouncer, type PgBouncer } from './components.ts';
import { startHaProxy, type HaProxy } from './haproxy.ts';
import { instanceEnv, startInstance, stopInstance, waitUntilReady, type Instance } from './instances.ts';

export const INSTANCE_COUNT = 3;

/**
 * The service as it is deployed: a fresh database on the test PostgreSQL, PgBouncer in
 * transaction mode in front of it, three instances of the compiled build pointing at
 * PgBouncer, and HAProxy in front of them. `db` talks to PostgreSQL directly, for checks.
 */
export interface Cluster {
  url: string;
  db: Db;
  pgbouncer: PgBouncer;
  haproxy: HaProxy;
  instances: Instance[];
  /** SIGTERMs (or SIGKILLs) instance `index` and starts a new one on its port. */
  restart(index: number, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

let built = false;

/** `pnpm build`, once per test process. */
export function buildOnce(): void {
  if (built) return;
  execFileSync('pnpm', ['build'], { cwd: REPO_ROOT, stdio: 'pipe' });
  built = true;
}

export async function startCluster(): Promise<Cluster> {
  if (!TEST_SERVER_URL) throw new Error('pnpm test:cluster needs DATABASE_URL (a PostgreSQL server)');
  buildOnce();
  const testDatabase = await createTestDatabase();
  const database = await testDatabase.open(createLogger({ level: 'error', destination: new LogCapture() }));
  const name = new URL(testDatabase.url ?? '').pathname.slice(1);
  // Statements outside a transaction are bounded by the database's own default, as the README advises.
  await sql`alter database ${sql.id(name)} set statement_timeout = '10s'`.execute(database.db);
  const pgbouncer = await startPgBouncer({ serverUrl: TEST_SERVER_URL, database: name });
  const env = instanceEnv(pgbouncer.url);
  const ports = await Promise.all(Array.from({ length: INSTANCE_COUNT }, () => freePort()));
  // The first migrates (through PgBouncer), then the others start on the migrated database.
  const instances: Instance[] = [
    await startInstance({ name: 'app1', port: ports[0] ?? 0, env: { ...env, MIGRATE_ON_START: 'true' } }),
  ];
  instances.push(
    ...(await Promise.all(ports.slice(1).map((port, index) => startInstance({ name: `app${index + 2}`, port, env })))),
  );
  const haproxy = await startHaProxy(ports);
  for (const instance of instances) await haproxy.waitForStatus(instance.name, 'UP');

  return {
    url: haproxy.url,
    db: database.db,
    pgbouncer,
    haproxy,
    instances,
    restart: async (index, signal = 'SIGTERM') => {
      const old = instances[index];
      if (!old) throw new Error(`no instance ${index}`);
      await stopInstance(old, signal);
      const replacement = await startInstance({ name: old.name, port: old.port, env });
      instances[index] = replacement;
      await waitUntilReady(replacement);
    },
    stop: async () => {
      await haproxy.stop();
      await Promise.all(instances.map((instance) => stopInstance(instance, 'SIGKILL')));
      await pgbouncer.stop();
      await database.close();
      await testDatabase.drop();
    },
  };
}
