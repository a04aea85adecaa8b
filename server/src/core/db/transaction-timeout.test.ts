import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/log-capture.ts';
import { createTestDatabase, onRealPostgres, type TestDatabase } from '../../../test/test-database.ts';
import { createLogger } from '../logging/logger.ts';
import { createDatabase, type DatabaseHandle } from './database.ts';
import { beginStatement } from './transaction-timeout.ts';

describe('beginStatement', () => {
  it('begins and sets the timeout for this transaction only, in one message', () => {
    expect(beginStatement({}, 1_500)).toBe('begin; set local statement_timeout = 1500');
    expect(beginStatement({ isolationLevel: 'serializable', accessMode: 'read only' }, 2_000)).toBe(
      'start transaction isolation level serializable read only; set local statement_timeout = 2000',
    );
  });

  it('refuses a timeout that is not a positive whole number', () => {
    expect(() => beginStatement({}, Number.NaN)).toThrow(/positive integer/);
    expect(() => beginStatement({}, 0)).toThrow(/positive integer/);
  });
});

describe.skipIf(!onRealPostgres)('the statement timeout on PostgreSQL (needs DATABASE_URL)', () => {
  let testDatabase: TestDatabase;
  let database: DatabaseHandle;

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    const logger = createLogger({ level: 'error', destination: new LogCapture() });
    database = await createDatabase(
      {
        url: testDatabase.url,
        pgliteDir: '',
        poolMax: 1,
        statementTimeoutMs: 300,
        connectTimeoutMs: 3_000,
        logQueries: false,
      },
      logger,
    );
  });
  afterAll(async () => {
    await database.close();
    await testDatabase.drop();
  });

  const timeoutNow = async (db: DatabaseHandle['db']) =>
    (await sql<{ statement_timeout: string }>`show statement_timeout`.execute(db)).rows[0]?.statement_timeout;

  it('is no startup option of the connection: outside a transaction the server default holds', async () => {
    expect(await timeoutNow(database.db)).toBe('0');
  });

  it('bounds every statement of a transaction, and is gone once it ends', async () => {
    const inside = await database.db.transaction().execute((trx) => timeoutNow(trx));
    expect(inside).toBe('300ms');
    await expect(database.db.transaction().execute((trx) => sql`select pg_sleep(2)`.execute(trx))).rejects.toThrow(
      /statement timeout/,
    );
    // The same (only) connection, after the transaction: nothing of it stayed on the session.
    expect(await timeoutNow(database.db)).toBe('0');
  });
});
