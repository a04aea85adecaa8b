import pg from 'pg';
import { createDatabase, type Db } from '../src/core/db/database.ts';
import { newId } from '../src/core/ids.ts';
import { createLogger } from '../src/core/logging/logger.ts';
import { migrateToLatest } from '../src/core/db/migrations.ts';

export interface SoakDatabase {
  url: string;
  /** A connection of the soak's own, for the checks at the end. */
  db: Db;
  plentiful: string[];
  scarce: string[];
  initialStock: Map<string, number>;
  /** Closes the connection and drops the database. */
  drop(): Promise<void>;
}

async function onServer(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * A fresh database beside `serverUrl`'s, migrated, with products: `plentiful` ones with more
 * stock than any run can sell, and `scarce` ones with `scarceStock` units, which run out.
 */
export async function createSoakDatabase(
  serverUrl: string,
  { plentiful, scarce, scarceStock }: { plentiful: number; scarce: number; scarceStock: number },
): Promise<SoakDatabase> {
  const name = `orders_soak_${process.pid}_${Date.now().toString(36)}`;
  await onServer(serverUrl, `create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const logger = createLogger({ level: 'error' });
  const database = await createDatabase(
    {
      url: url.toString(),
      pgliteDir: '',
      poolMax: 2,
      statementTimeoutMs: 60_000,
      connectTimeoutMs: 5_000,
      logQueries: false,
    },
    logger,
  );
  await migrateToLatest(database.db, logger);
  const rows = Array.from({ length: plentiful + scarce }, (_, index) => ({
    id: newId('prd'),
    sku: `SOAK-${index}`,
    name: index < plentiful ? `Soak product ${index}` : `Scarce soak product ${index}`,
    description: null,
    price_amount: 500 + index * 125,
    currency: 'EUR',
    stock: index < plentiful ? 10_000_000 : scarceStock,
  }));
  await database.db.insertInto('products').values(rows).execute();
  return {
    url: url.toString(),
    db: database.db,
    plentiful: rows.slice(0, plentiful).map((row) => row.id),
    scarce: rows.slice(plentiful).map((row) => row.id),
    initialStock: new Map(rows.map((row) => [row.id, row.stock])),
    drop: async () => {
      await database.close();
      await onServer(serverUrl, `drop database if exists "${name}" with (force)`);
    },
  };
}
