import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/log-capture.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { createTestDatabase, migrate, type TestDatabase } from '../../../test/test-database.ts';
import type { DatabaseHandle } from './database.ts';
import { createLogger } from '../logging/logger.ts';
import { preparedQuery } from './prepared-query.ts';

let testDatabase: TestDatabase;
let database: DatabaseHandle;
const logs = new LogCapture();

beforeAll(async () => {
  const logger = createLogger({ level: 'debug', destination: logs });
  testDatabase = await createTestDatabase();
  database = await testDatabase.open(logger, { logQueries: true });
  await migrate(database, logger);
});
afterAll(async () => {
  await database.close();
  await testDatabase.drop();
});

describe('preparedQuery', () => {
  const byStockAndSku = preparedQuery(
    (db, stock: number, sku: string) =>
      db.selectFrom('products').select(['sku', 'stock']).where('stock', '=', stock).where('sku', '=', sku),
    -1,
    ':sku',
  );

  it('runs the same SQL with each call’s own values, and logs each query like any other', async () => {
    await insertProducts(database.db, [
      { sku: 'PREP-A', stock: 3 },
      { sku: 'PREP-B', stock: 5 },
    ]);
    expect(await byStockAndSku(database.db, 3, 'PREP-A')).toEqual([{ sku: 'PREP-A', stock: 3 }]);
    expect(await byStockAndSku(database.db, 5, 'PREP-B')).toEqual([{ sku: 'PREP-B', stock: 5 }]);
    expect(await byStockAndSku(database.db, 5, 'PREP-A')).toEqual([]);

    const queries = logs.events('db_query').filter((line) => String(line.sql).includes('"stock" = $1'));
    expect(queries).toHaveLength(3);
    expect(queries.map((line) => line.params)).toEqual([
      [3, 'PREP-A'],
      [5, 'PREP-B'],
      [5, 'PREP-A'],
    ]);
  });

  it('refuses a query whose placeholders are not the stand-ins in order', async () => {
    const swapped = preparedQuery(
      (db, sku: string, stock: number) =>
        db.selectFrom('products').select('sku').where('stock', '=', stock).where('sku', '=', sku),
      ':sku',
      -1,
    );
    await expect(swapped(database.db, 'PREP-A', 3)).rejects.toThrow(/not the stand-ins/);
  });
});
