import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../test/log-capture.ts';
import { insertProducts } from '../../test/seed-products.ts';
import { createTestDatabase, migrate, type TestDatabase } from '../../test/test-database.ts';
import type { DatabaseHandle } from '../core/db/database.ts';
import { newId } from '../core/ids.ts';
import { createLogger } from '../core/logging/logger.ts';
import { listProducts } from './products.ts';
import { listUsers } from './users.ts';

/** The unfiltered lists' totals come from table_counts: they must agree with count(*) whatever happens to the rows. */
let testDatabase: TestDatabase;
let database: DatabaseHandle;

beforeAll(async () => {
  const logger = createLogger({ level: 'error', destination: new LogCapture() });
  testDatabase = await createTestDatabase();
  database = await testDatabase.open(logger);
  await migrate(database, logger);
});
afterAll(async () => {
  await database.close();
  await testDatabase.drop();
});

const page = { limit: 5, offset: 0 };
const productTotals = async () => ({
  listed: (await listProducts(database.db, { ...page, includeInactive: false })).total,
  listedWithInactive: (await listProducts(database.db, { ...page, includeInactive: true })).total,
});
const counted = async (where: string) =>
  Number(
    (await sql<{ n: string }>`select count(*) as n from products where ${sql.raw(where)}`.execute(database.db)).rows[0]
      ?.n,
  );

describe('table_counts', () => {
  it('follows products inserted in bulk, deactivated, reactivated, restocked and deleted', async () => {
    const ids = await insertProducts(
      database.db,
      Array.from({ length: 7 }, () => ({})),
    );
    expect(await productTotals()).toEqual({ listed: 7, listedWithInactive: 7 });
    await database.db.updateTable('products').set({ active: false }).where('id', 'in', ids.slice(0, 3)).execute();
    // A stock change, the hot path, leaves the counts alone.
    await database.db.updateTable('products').set({ stock: 1 }).execute();
    await database.db
      .updateTable('products')
      .set({ active: true })
      .where('id', '=', ids[0] ?? '')
      .execute();
    expect(await productTotals()).toEqual({ listed: 5, listedWithInactive: 7 });
    await database.db.deleteFrom('products').where('id', 'in', ids.slice(1, 4)).execute();
    expect(await productTotals()).toEqual({
      listed: await counted('active'),
      listedWithInactive: await counted('true'),
    });
    expect(await productTotals()).toEqual({ listed: 4, listedWithInactive: 4 });
  });

  it('follows users registered and deleted; a search still counts its matches', async () => {
    const users = Array.from({ length: 4 }, (_, index) => ({
      id: newId('usr'),
      email: `counted-${index}@example.com`,
      name: `Counted ${index}`,
      password_hash: 'not-a-hash',
    }));
    await database.db.insertInto('users').values(users).execute();
    await database.db
      .deleteFrom('users')
      .where('id', '=', users[0]?.id ?? '')
      .execute();
    expect((await listUsers(database.db, page)).total).toBe(3);
    expect((await listUsers(database.db, { ...page, q: 'counted-2' })).total).toBe(1);
  });

  it('pages deep through the products list in order, a page at a time', async () => {
    const all = await listProducts(database.db, { limit: 100, offset: 0, includeInactive: false });
    const second = await listProducts(database.db, { limit: 2, offset: 2, includeInactive: false });
    expect(second.items.map((item) => item.id)).toEqual(all.items.slice(2, 4).map((item) => item.id));
  });
});
