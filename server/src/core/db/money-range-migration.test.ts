import { createMigrator } from '@orders/migrations';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogger, testConfig } from '../../../test/test-app.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/test-database.ts';
import type { DatabaseHandle } from './database.ts';
import { newId } from '../ids.ts';

/**
 * The migration that bounds every money column to [0, 1,000,000,000]: on a database where the
 * earlier code stored an order above that limit it stops, naming the rows to settle; once they
 * are settled it applies; and it can be reverted.
 */

const BEFORE_CHECKS = '20261126170000_add_idempotency_key_recovery';
const OVER_THE_LIMIT = 1_500_000_000;

let testDatabase: TestDatabase;
let database: DatabaseHandle;

beforeAll(async () => {
  const { logger } = capturedLogger(testConfig());
  testDatabase = await createTestDatabase();
  database = await testDatabase.open(logger);
});

afterAll(async () => {
  await database.close();
  await testDatabase.drop();
});

async function migrateTo(target: string): Promise<unknown> {
  const migrator = createMigrator(database.db);
  const result = target === 'latest' ? await migrator.migrateToLatest() : await migrator.migrateTo(target);
  return result.error;
}

/** An order as the earlier code could store it: total, line and payment all above the limit. */
async function insertOrderOverTheLimit(): Promise<string> {
  const db = database.db;
  const userId = newId('usr');
  const productId = newId('prd');
  const orderId = newId('ord');
  await db
    .insertInto('users')
    .values({ id: userId, email: `${userId}@example.com`, password_hash: 'x', name: 'Big spender' })
    .execute();
  await db
    .insertInto('products')
    .values({ id: productId, sku: 'BIG-1', name: 'Big', price_amount: 750_000_000, currency: 'EUR', stock: 3 })
    .execute();
  await db
    .insertInto('orders')
    .values({ id: orderId, user_id: userId, status: 'paid', currency: 'EUR', total_amount: OVER_THE_LIMIT })
    .execute();
  await db
    .insertInto('order_items')
    .values({
      order_id: orderId,
      product_id: productId,
      product_name: 'Big',
      quantity: 2,
      unit_price_amount: 750_000_000,
      line_total_amount: OVER_THE_LIMIT,
    })
    .execute();
  await db
    .insertInto('payments')
    .values({
      id: newId('pay'),
      order_id: orderId,
      amount: OVER_THE_LIMIT,
      currency: 'EUR',
      status: 'succeeded',
      gateway: 'simulated',
      payment_method: 'pm_card_visa',
    })
    .execute();
  return orderId;
}

async function totalWritable(orderId: string, total: number): Promise<boolean> {
  try {
    await sql`update orders set total_amount = ${total} where id = ${orderId}`.execute(database.db);
    return true;
  } catch {
    return false;
  }
}

describe('the money range checks migration', () => {
  let orderId: string;

  it('stops on rows above the limit, naming each of them', async () => {
    expect(await migrateTo(BEFORE_CHECKS)).toBeUndefined();
    orderId = await insertOrderOverTheLimit();
    const error = await migrateTo('latest');
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(/^Amounts above 1000000000 minor units must be settled/);
    expect(message).toContain(`orders.total_amount: ${orderId}`);
    expect(message).toContain(`order_items.line_total_amount: ${orderId}`);
    expect(message).toContain('payments.amount: pay_');
    expect(message).not.toContain('products.price_amount');
    expect(await totalWritable(orderId, OVER_THE_LIMIT + 1)).toBe(true);
  });

  it('applies once they are settled, and then refuses amounts above the limit', async () => {
    await database.db.deleteFrom('orders').where('id', '=', orderId).execute();
    await database.db
      .insertInto('orders')
      .values({
        id: orderId,
        user_id: (await database.db.selectFrom('users').select('id').executeTakeFirstOrThrow()).id,
        status: 'paid',
        currency: 'EUR',
        total_amount: 1_000_000_000,
      })
      .execute();
    expect(await migrateTo('latest')).toBeUndefined();
    expect(await totalWritable(orderId, 1_000_000_001)).toBe(false);
    expect(await totalWritable(orderId, 0)).toBe(true);
  });

  it('reverts to the checks it replaced', async () => {
    expect(await migrateTo(BEFORE_CHECKS)).toBeUndefined();
    expect(await totalWritable(orderId, OVER_THE_LIMIT)).toBe(true);
    expect(await totalWritable(orderId, -1)).toBe(false);
  });
});
