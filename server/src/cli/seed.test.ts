import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { recordSecret } from '../../test/log-audit/records.ts';
import { LogCapture } from '../../test/log-capture.ts';
import { TEST_JWT_SECRET } from '../../test/test-app.ts';
import { createTestDatabase, type TestDatabase } from '../../test/test-database.ts';
import { REPO_ROOT } from '../../test/test-results.ts';
import { createLogger } from '../core/logging/logger.ts';

/** `pnpm db:seed` as an operator runs it, against a fresh database, with only PATH and `env`. */

const ADMIN_PASSWORD = 'seed-test-admin-password-41d9';
const databases: TestDatabase[] = [];

afterEach(async () => {
  for (const database of databases.splice(0)) await database.drop();
});

async function runSeed(env: Record<string, string>): Promise<{ database: TestDatabase; stdout: string }> {
  const database = await createTestDatabase();
  databases.push(database);
  const target = database.url === undefined ? { PGLITE_DIR: database.pgliteDir ?? '' } : { DATABASE_URL: database.url };
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/cli/seed.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ADMIN_EMAIL: 'ops@example.com', ...target, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  expect(code, stderr).toBe(0);
  return { database, stdout };
}

/** Who and what the seed left in the database. */
async function contents(database: TestDatabase) {
  const handle = await database.open(createLogger({ level: 'error', destination: new LogCapture() }));
  try {
    const users = await handle.db.selectFrom('users').select(['email', 'role']).orderBy('email').execute();
    const products = await handle.db.selectFrom('products').select('sku').execute();
    const orders = await handle.db.selectFrom('orders').select('id').execute();
    return { users, products: products.length, orders: orders.length };
  } finally {
    await handle.close();
  }
}

describe('pnpm db:seed', { timeout: 120_000 }, () => {
  it('in production creates only the admin from ADMIN_PASSWORD: no demo customer, products or orders', async () => {
    recordSecret('password', ADMIN_PASSWORD);
    const { database, stdout } = await runSeed({
      NODE_ENV: 'production',
      JWT_SECRET: TEST_JWT_SECRET,
      ADMIN_PASSWORD,
    });
    expect(await contents(database)).toEqual({
      users: [{ email: 'ops@example.com', role: 'admin' }],
      products: 0,
      orders: 0,
    });
    expect(stdout).toContain('admin ops@example.com: created');
    expect(stdout).toContain('demo data: skipped');
    expect(stdout).not.toContain('customer-password');
  });

  it('in development on loopback adds the demo customer, products and orders, and the demo admin', async () => {
    const { database, stdout } = await runSeed({ NODE_ENV: 'development', HOST: '127.0.0.1' });
    const seeded = await contents(database);
    expect(seeded.users).toEqual([
      { email: 'customer@example.com', role: 'customer' },
      { email: 'ops@example.com', role: 'admin' },
    ]);
    expect(seeded.products).toBeGreaterThan(0);
    expect(seeded.orders).toBe(2);
    expect(stdout).toContain('demo customer customer@example.com');
  });

  it('in production adds the demo data when SEED_DEMO_DATA=true asks for it, but no admin without ADMIN_PASSWORD', async () => {
    const { database } = await runSeed({ NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET, SEED_DEMO_DATA: 'true' });
    const seeded = await contents(database);
    expect(seeded.users).toEqual([{ email: 'customer@example.com', role: 'customer' }]);
    expect(seeded.products).toBeGreaterThan(0);
  });
});
