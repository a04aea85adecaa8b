/**
 * `pnpm test:soak`: the server as production runs it, under mixed traffic at a fixed rate for
 * a few minutes, then a consistency check of stock, orders and payments. Not part of
 * `pnpm test` or CI (it takes minutes and loads the machine); its figures are kept in
 * docs/reliability/soak-latest.json for the reliability report.
 *
 * Needs DATABASE_URL (real PostgreSQL): a fresh database is created beside it and dropped after.
 * Env: SOAK_SECONDS (300), SOAK_RATE (operations per second, 20), SOAK_CUSTOMERS
 * (1.5 x rate, at least 40), SOAK_GATEWAY_LATENCY_MS (20), SOAK_SEED (1).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOrderConsistency } from '../test/order-consistency.ts';
import { clientViewProblems, registerCustomers } from './customers.ts';
import { createSoakDatabase } from './database.ts';
import { drive } from './drive.ts';
import { readLogFile } from './log-file.ts';
import { soakFailed, soakReport, writeReport } from './report.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';
import {
  CUSTOMERS,
  GATEWAY_LATENCY_MS,
  log,
  PLENTIFUL_PRODUCTS,
  RATE,
  SCARCE_PRODUCTS,
  SCARCE_STOCK,
  SECONDS,
  SEED,
} from './settings.ts';
import { seededRandom } from './stats.ts';
import type { World } from './world.ts';

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    process.stderr.write(
      'pnpm test:soak needs DATABASE_URL (a PostgreSQL server; a fresh database is made beside it)\n',
    );
    process.exit(2);
  }
  const folder = mkdtempSync(join(tmpdir(), 'orders-soak-'));
  const logFile = join(folder, 'server.log');
  const database = await createSoakDatabase(serverUrl, {
    plentiful: PLENTIFUL_PRODUCTS,
    scarce: SCARCE_PRODUCTS,
    scarceStock: SCARCE_STOCK,
  });
  let server: ServerProcess | undefined;
  try {
    server = await startServerProcess({
      NODE_ENV: 'production',
      DATABASE_URL: database.url,
      MIGRATE_ON_START: 'false',
      LOG_LEVEL: 'info',
      LOG_FILE: logFile,
      JWT_SECRET: randomBytes(48).toString('hex'),
      TRUST_PROXY: '1',
      WEB_CONCURRENCY: '1',
      PAYMENT_GATEWAY_LATENCY_MS: String(GATEWAY_LATENCY_MS),
    });
    log(`server ${server.pid} at ${server.url}; registering ${CUSTOMERS} customers`);
    const world: World = {
      baseUrl: server.url,
      plentiful: database.plentiful,
      scarce: database.scarce,
      customers: await registerCustomers(server.url, CUSTOMERS),
      random: seededRandom(SEED),
    };
    log(`driving ${RATE} operations/s for ${SECONDS} s`);
    const traffic = await drive(world, server);
    const consistency = await checkOrderConsistency(database.db, { initialStock: database.initialStock });
    const clientView = await clientViewProblems(database, world.customers);
    const exitCode = await server.stop(15_000);
    const report = soakReport({ traffic, consistency, clientView, exitCode, serverLog: readLogFile(logFile) });
    await writeReport(report);
    process.exitCode = soakFailed(report) ? 1 : 0;
  } finally {
    if (server && server.child.exitCode === null) await server.stop(5_000);
    await database.drop();
    rmSync(folder, { recursive: true, force: true });
  }
}

await main();
