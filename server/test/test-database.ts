import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createDatabase, type DatabaseHandle } from '../src/core/db/database.ts';
import type { Logger } from '../src/core/logging/logger.ts';
import { migrateToLatest } from '../src/core/db/migrations.ts';

/** The PostgreSQL server tests use, when there is one; otherwise they run on embedded PGlite. */
export const TEST_SERVER_URL = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
export const onRealPostgres = TEST_SERVER_URL !== undefined;

export interface TestDatabase {
  /** The database's own URL (undefined on PGlite). */
  url: string | undefined;
  pgliteDir: string | undefined;
  open(logger: Logger, options?: { logQueries?: boolean }): Promise<DatabaseHandle>;
  drop(): Promise<void>;
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<Result>(serverUrl: string, fn: (client: pg.Client) => Promise<Result>): Promise<Result> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, empty database of its own for one test file: a new database on the test
 * PostgreSQL server, or a new PGlite folder. Call `migrate` to bring it to head.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const options = { poolMax: 5, statementTimeoutMs: 10_000, connectTimeoutMs: 3_000 };
  if (TEST_SERVER_URL) {
    const name = `orders_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    await admin(TEST_SERVER_URL, (client) => client.query(`create database "${name}"`));
    const url = withDatabase(TEST_SERVER_URL, name);
    return {
      url,
      pgliteDir: undefined,
      open: (logger, { logQueries = false } = {}) =>
        createDatabase({ ...options, url, pgliteDir: '', logQueries }, logger),
      drop: () =>
        admin(TEST_SERVER_URL, (client) => client.query(`drop database if exists "${name}" with (force)`)).then(
          () => undefined,
        ),
    };
  }
  const folder = mkdtempSync(join(tmpdir(), 'orders-test-'));
  const pgliteDir = join(folder, 'pglite');
  return {
    url: undefined,
    pgliteDir,
    open: (logger, { logQueries = false } = {}) => createDatabase({ ...options, pgliteDir, logQueries }, logger),
    drop: () => Promise.resolve(rmSync(folder, { recursive: true, force: true })),
  };
}

export async function migrate(handle: DatabaseHandle, logger: Logger): Promise<void> {
  await migrateToLatest(handle.db, logger);
}
