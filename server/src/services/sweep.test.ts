import { randomBytes, randomUUID } from 'node:crypto';
import type { AuthSession } from '@orders/shared';
import { sql, type RawBuilder } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { callApi, expectError } from '../../test/api-client.ts';
import { useTestApp } from '../../test/fixture.ts';
import { onRealPostgres } from '../../test/test-database.ts';
import { newId } from '../core/ids.ts';
import { digestToken } from '../core/security.ts';
import { sweepExpiredRows, SWEEP_LOCK_ID, type SweepResult } from './sweep.ts';

const {
  app,
  secrets,
  users: { 'sweep-owner': owner },
} = useTestApp({
  // Windows as long as the file runs: the API's own rate-limit rows never end mid-test.
  env: { RATE_LIMIT_WINDOW_SECONDS: '86400', RATE_LIMIT_PER_IP: '10000' },
  logQueries: false,
  users: { 'sweep-owner': 'customer' },
  afterTests: (fixture) => expect(fixture.app.logs.events('unhandled_exception')).toEqual([]),
});

const ago = (interval: string): RawBuilder<Date> => sql<Date>`now() - ${interval}::interval`;
const fromNow = (interval: string): RawBuilder<Date> => sql<Date>`now() + ${interval}::interval`;

const sweep = (batchSize = 1000) => sweepExpiredRows({ db: app.database.db, logger: app.logger }, { batchSize });

async function insertRefreshToken(fields: {
  expiresAt: RawBuilder<Date>;
  revokedAt?: RawBuilder<Date>;
  replacedBy?: string;
}): Promise<string> {
  const id = newId('rtk');
  await app.database.db
    .insertInto('refresh_tokens')
    .values({
      id,
      user_id: owner.id,
      family_id: newId('rtk'),
      token_hash: randomBytes(32).toString('hex'),
      expires_at: fields.expiresAt,
      revoked_at: fields.revokedAt ?? null,
      replaced_by: fields.replacedBy ?? null,
    })
    .execute();
  return id;
}

async function insertIdempotencyKey(createdAt: RawBuilder<Date>, state: 'in_progress' | 'done' = 'done') {
  const key = randomUUID();
  await app.database.db
    .insertInto('idempotency_keys')
    .values({ user_id: owner.id, key, operation: 'orders.create', fingerprint: 'f', state, created_at: createdAt })
    .execute();
  return key;
}

async function insertRateLimit(windowEndsAt: RawBuilder<Date>): Promise<string> {
  const key = `ip:sweep-${randomUUID()}`;
  await app.database.db.insertInto('rate_limits').values({ key, count: 3, window_ends_at: windowEndsAt }).execute();
  return key;
}

async function remainingRefreshTokens(ids: string[]): Promise<string[]> {
  const rows = await app.database.db.selectFrom('refresh_tokens').select('id').where('id', 'in', ids).execute();
  return rows.map((row) => row.id).sort();
}

async function remainingIdempotencyKeys(keys: string[]): Promise<string[]> {
  const rows = await app.database.db.selectFrom('idempotency_keys').select('key').where('key', 'in', keys).execute();
  return rows.map((row) => row.key).sort();
}

async function remainingRateLimits(keys: string[]): Promise<string[]> {
  const rows = await app.database.db.selectFrom('rate_limits').select('key').where('key', 'in', keys).execute();
  return rows.map((row) => row.key).sort();
}

describe('what a sweep deletes', () => {
  it('deletes expired, long-revoked and old rows, keeps live ones, and logs one sweep_completed line', async () => {
    const expiredLongAgo = await insertRefreshToken({ expiresAt: ago('2 hours') });
    const expiredAndRevoked = await insertRefreshToken({ expiresAt: ago('3 days'), revokedAt: ago('20 days') });
    const revokedLongAgo = await insertRefreshToken({ expiresAt: fromNow('10 days'), revokedAt: ago('8 days') });
    const kept = {
      justExpired: await insertRefreshToken({ expiresAt: ago('30 minutes') }),
      revokedRecently: await insertRefreshToken({ expiresAt: fromNow('10 days'), revokedAt: ago('2 days') }),
      replacedLongAgo: await insertRefreshToken({
        expiresAt: fromNow('10 days'),
        revokedAt: ago('20 days'),
        replacedBy: newId('rtk'),
      }),
      live: await insertRefreshToken({ expiresAt: fromNow('29 days') }),
    };
    const oldKeys = [
      await insertIdempotencyKey(ago('25 hours')),
      await insertIdempotencyKey(ago('3 days'), 'in_progress'),
    ];
    const youngKey = await insertIdempotencyKey(ago('23 hours'));
    const endedWindow = await insertRateLimit(ago('1 minute'));
    const openWindow = await insertRateLimit(fromNow('1 minute'));
    const linesBefore = app.logs.lines.length;

    const result = await sweep();

    expect(result.outcome).toBe('completed');
    expect(result.deleted).toEqual({ refresh_tokens: 3, idempotency_keys: 2, rate_limits: 1 });
    const allTokens = [expiredLongAgo, expiredAndRevoked, revokedLongAgo, ...Object.values(kept)];
    expect(await remainingRefreshTokens(allTokens)).toEqual(Object.values(kept).sort());
    expect(await remainingIdempotencyKeys([...oldKeys, youngKey])).toEqual([youngKey]);
    expect(await remainingRateLimits([endedWindow, openWindow])).toEqual([openWindow]);

    const completed = app.logs.lines.slice(linesBefore).filter((line) => line.event === 'sweep_completed');
    expect(completed).toEqual([
      expect.objectContaining({
        level: 'INFO',
        outcome: 'completed',
        deleted: { refresh_tokens: 3, idempotency_keys: 2, rate_limits: 1 },
        duration_ms: result.durationMs,
      }),
    ]);
  });

  it('keeps a replaced token until it expires: replaying it after a sweep still revokes its family (API)', async () => {
    const first = await callApi<AuthSession>(app.url, 'auth.login', {
      protocol: 'rest',
      input: { email: owner.email, password: owner.password },
    });
    expect(first.status).toBe(200);
    secrets.addSession(first.data);
    const rotated = await callApi<AuthSession>(app.url, 'auth.refresh', {
      protocol: 'rest',
      input: { refreshToken: first.data.refreshToken },
    });
    expect(rotated.status).toBe(200);
    secrets.addSession(rotated.data);
    // Spent weeks ago, as a stolen token kept by a thief would be; it has not expired.
    const spent = await app.database.db
      .updateTable('refresh_tokens')
      .set({ revoked_at: ago('20 days') })
      .where('token_hash', '=', digestToken(first.data.refreshToken))
      .where('replaced_by', 'is not', null)
      .where('expires_at', '>', new Date())
      .executeTakeFirst();
    expect(spent.numUpdatedRows).toBe(1n);

    await sweep();

    const replay = await callApi(app.url, 'auth.refresh', {
      protocol: 'rest',
      input: { refreshToken: first.data.refreshToken },
    });
    expectError(replay, { status: 401, code: 'UNAUTHORIZED', reason: 'Refresh Token Reused' });
    const successor = await callApi(app.url, 'auth.refresh', {
      protocol: 'trpc',
      input: { refreshToken: rotated.data.refreshToken },
    });
    expectError(successor, { status: 401, code: 'UNAUTHORIZED', reason: 'Refresh Token Revoked' });
  });
});

describe('batches', () => {
  it('with a batch size of 2, deletes 5 old rows of each table, each batch in its own transaction', async () => {
    const tokens: string[] = [];
    const keys: string[] = [];
    const windows: string[] = [];
    for (let index = 0; index < 5; index++) {
      tokens.push(await insertRefreshToken({ expiresAt: ago('2 days') }));
      keys.push(await insertIdempotencyKey(ago('2 days')));
      windows.push(await insertRateLimit(ago('2 days')));
    }
    const linesBefore = app.logs.lines.length;

    const result = await sweep(2);

    expect(result.outcome).toBe('completed');
    expect(result.deleted).toEqual({ refresh_tokens: 5, idempotency_keys: 5, rate_limits: 5 });
    expect(await remainingRefreshTokens(tokens)).toEqual([]);
    expect(await remainingIdempotencyKeys(keys)).toEqual([]);
    expect(await remainingRateLimits(windows)).toEqual([]);
    const transactions = app.logs.lines.slice(linesBefore).filter((line) => line.event === 'db_transaction');
    // 2 + 2 + 1 per table: the short batch says the table is done.
    expect(transactions.map((line) => [line.name, line.outcome])).toEqual(
      ['refresh_tokens', 'idempotency_keys', 'rate_limits'].flatMap((table) =>
        Array.from({ length: 3 }, () => [`sweep_${table}`, 'commit']),
      ),
    );
  });

  it('stops before its next batch once its signal is aborted (shutdown)', async () => {
    const token = await insertRefreshToken({ expiresAt: ago('2 days') });
    const stopping = new AbortController();
    stopping.abort();
    const result = await sweepExpiredRows(
      { db: app.database.db, logger: app.logger },
      { batchSize: 10, signal: stopping.signal },
    );
    expect(result.outcome).toBe('stopped');
    expect(await remainingRefreshTokens([token])).toEqual([token]);
    expect((await sweep()).deleted.refresh_tokens).toBe(1);
  });
});

describe('one sweeper across instances', () => {
  it.skipIf(!onRealPostgres)(
    'two sweeps started at once on two connections: one deletes everything, the other reports it skipped (needs real PostgreSQL: PGlite serves one connection, so its sweeps queue one after the other)',
    async () => {
      const tokens = [
        await insertRefreshToken({ expiresAt: ago('2 days') }),
        await insertRefreshToken({ expiresAt: ago('2 days') }),
      ];
      const keys = [await insertIdempotencyKey(ago('2 days')), await insertIdempotencyKey(ago('2 days'))];
      const windows = [await insertRateLimit(ago('2 days'))];
      const otherInstance = await app.testDatabase.open(app.logger);
      // Holds the winner inside its first batch (its delete waits for this table lock), as a
      // large batch would, so the other sweep's attempt surely falls while the lock is held.
      const blocker = new pg.Client({ connectionString: app.testDatabase.url });
      await blocker.connect();
      try {
        await blocker.query('begin');
        await blocker.query('lock table refresh_tokens in share mode');
        const settled: SweepResult[] = [];
        const sweeps = [app.database.db, otherInstance.db].map((db) =>
          sweepExpiredRows({ db, logger: app.logger }, { batchSize: 1 }).then((result) => {
            settled.push(result);
            return result;
          }),
        );
        await expect.poll(() => settled.length, { timeout: 5_000 }).toBe(1);
        expect(settled[0]).toMatchObject({
          outcome: 'skipped',
          deleted: { refresh_tokens: 0, idempotency_keys: 0, rate_limits: 0 },
        });
        await blocker.query('commit');

        const outcomes = await Promise.all(sweeps);
        expect(outcomes.map((outcome) => outcome.outcome).sort()).toEqual(['completed', 'skipped']);
        expect(settled[1]?.deleted).toEqual({ refresh_tokens: 2, idempotency_keys: 2, rate_limits: 1 });
        expect(await remainingRefreshTokens(tokens)).toEqual([]);
        expect(await remainingIdempotencyKeys(keys)).toEqual([]);
        expect(await remainingRateLimits(windows)).toEqual([]);
        expect(app.logs.events('sweep_completed', { outcome: 'skipped' })).toHaveLength(1);
      } finally {
        await blocker.end();
        await otherInstance.close();
      }
    },
  );

  it.skipIf(!onRealPostgres)(
    'skips, deleting nothing, while another instance holds the sweep lock (needs real PostgreSQL: a second connection)',
    async () => {
      const token = await insertRefreshToken({ expiresAt: ago('2 days') });
      const otherInstance = new pg.Client({ connectionString: app.testDatabase.url });
      await otherInstance.connect();
      try {
        await otherInstance.query('begin');
        await otherInstance.query('select pg_advisory_xact_lock($1::bigint)', [SWEEP_LOCK_ID]);
        expect(await sweep()).toMatchObject({
          outcome: 'skipped',
          deleted: { refresh_tokens: 0, idempotency_keys: 0, rate_limits: 0 },
        });
        expect(await remainingRefreshTokens([token])).toEqual([token]);
        await otherInstance.query('commit');
        expect((await sweep()).deleted.refresh_tokens).toBe(1);
      } finally {
        await otherInstance.end();
      }
    },
  );
});
