import pg from 'pg';
import { loadConfig } from '../server/src/core/config.ts';
import { createDatabase } from '../server/src/core/db/database.ts';
import { newId } from '../server/src/core/ids.ts';
import { createLogger } from '../server/src/core/logging/logger.ts';
import { migrateToLatest } from '../server/src/core/db/migrations.ts';
import { createTokenService, hashPassword } from '../server/src/core/security.ts';

export interface BenchFixture {
  productId: string;
  /** Products the spread orders.create scenarios take in turn (SPREAD_PRODUCTS of them). */
  spreadProductIds: string[];
  orderId: string;
  accessToken: string;
}

/** BENCH_DATABASE names another, so that two runs on one PostgreSQL server keep apart. */
const BENCH_DATABASE = process.env.BENCH_DATABASE ?? 'orders_bench';
/** Enough products that 50 connections' orders seldom wait on one another's row lock. */
const SPREAD_PRODUCTS = 1000;

/** A fresh `orders_bench` database beside DATABASE_URL's, migrated, with one product, user and order. */
export async function prepareBenchDatabase(
  serverUrl: string,
  jwtSecret: string,
): Promise<{ url: string; fixture: BenchFixture }> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(BENCH_DATABASE))
    throw new Error(`BENCH_DATABASE must be a plain lower-case PostgreSQL name, got ${BENCH_DATABASE.slice(0, 80)}`);
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${BENCH_DATABASE} with (force)`);
  await admin.query(`create database ${BENCH_DATABASE}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${BENCH_DATABASE}`;

  const logger = createLogger({ level: 'error' });
  const database = await createDatabase(
    {
      url: url.toString(),
      pgliteDir: '',
      poolMax: 2,
      statementTimeoutMs: 30_000,
      connectTimeoutMs: 5_000,
      logQueries: false,
    },
    logger,
  );
  await migrateToLatest(database.db, logger);
  const productId = newId('prd');
  const userId = newId('usr');
  const orderId = newId('ord');
  await database.db
    .insertInto('products')
    // Stock for every order the create scenario can place in a run.
    .values({
      id: productId,
      sku: 'BENCH-1',
      name: 'Bench mug',
      price_amount: 1290,
      currency: 'EUR',
      stock: 2_000_000_000,
    })
    .execute();
  const spreadProductIds = Array.from({ length: SPREAD_PRODUCTS }, () => newId('prd'));
  await database.db
    .insertInto('products')
    .values(
      spreadProductIds.map((id, index) => ({
        id,
        sku: `BENCH-SPREAD-${index}`,
        name: `Bench plate ${index}`,
        price_amount: 990,
        currency: 'EUR',
        stock: 2_000_000_000,
      })),
    )
    .execute();
  await database.db
    .insertInto('users')
    .values({
      id: userId,
      email: 'bench@example.com',
      name: 'Bench',
      password_hash: await hashPassword('bench-password-000'),
    })
    .execute();
  // The access token's session: one live refresh token of its family, as a login leaves.
  const sessionId = newId('rtk');
  await database.db
    .insertInto('refresh_tokens')
    .values({
      id: sessionId,
      user_id: userId,
      family_id: sessionId,
      token_hash: `bench-${sessionId}`,
      expires_at: new Date(Date.now() + 86_400_000),
    })
    .execute();
  await database.db
    .insertInto('orders')
    .values({ id: orderId, user_id: userId, status: 'paid', currency: 'EUR', total_amount: 2580 })
    .execute();
  await database.db
    .insertInto('order_items')
    .values({
      order_id: orderId,
      product_id: productId,
      product_name: 'Bench mug',
      quantity: 2,
      unit_price_amount: 1290,
      line_total_amount: 2580,
    })
    .execute();
  await database.close();

  const config = loadConfig({
    NODE_ENV: 'production',
    JWT_SECRET: jwtSecret,
    DATABASE_URL: url.toString(),
    ACCESS_TOKEN_TTL: '1d',
  });
  const accessToken = createTokenService(config.jwt).signAccessToken({
    user: { id: userId, role: 'customer' },
    sessionId,
  });
  return { url: url.toString(), fixture: { productId, spreadProductIds, orderId, accessToken } };
}
