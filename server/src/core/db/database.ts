import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Kysely, sql, type Dialect, type LogEvent } from 'kysely';
import pg from 'pg';
import type { Database } from '../../models/index.ts';
import { markingDatabaseErrors, type QueryObserver } from './database-driver.ts';
import { timeBoundPostgresDialect } from './transaction-timeout.ts';
import type { Logger } from '../logging/logger.ts';
import { redactSqlParameters } from '../logging/sql-redaction.ts';

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  /** A postgres:// URL; unset means embedded PGlite in `pgliteDir`. */
  url?: string | undefined;
  pgliteDir: string;
  poolMax: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  /** Write a `db_query` line per query (development). */
  logQueries: boolean;
  /** Sees every statement (spans, durations) when tracing or metrics are on. */
  observeQuery?: QueryObserver | undefined;
}

export interface DatabaseHandle {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Answers when the database does, throws otherwise. */
  ping: () => Promise<void>;
  close: () => Promise<void>;
  /** The pool's connections (PostgreSQL); undefined for the embedded database. */
  poolStats: (() => { total: number; idle: number; waiting: number }) | undefined;
}

function queryLogger(logger: Logger) {
  return (event: LogEvent) => {
    const { sql: text, parameters } = event.query;
    const fields = {
      sql: text,
      params: redactSqlParameters(text, parameters),
      duration_ms: Math.round(event.queryDurationMillis * 100) / 100,
    };
    if (event.level === 'error') {
      logger.debug('db_query', { ...fields, error: event.error });
    } else {
      logger.debug('db_query', fields);
    }
  };
}

function postgresPool(options: DatabaseOptions & { url: string }, logger: Logger): pg.Pool {
  // No startup options (PgBouncer refuses them) and no session state: the statement timeout is
  // set per transaction (transaction-timeout.ts); queries carry no name, so none is prepared
  // on a server connection another client may get next.
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection emits here; without a listener it would crash the process.
  pool.on('error', (error) => {
    logger.error('db_pool_error', { reason: error.message, error });
  });
  // A client checked out of the pool (running a query, or inside a transaction) that loses its
  // connection emits 'error' on itself, where the pool listens only while it is idle: without
  // this listener that event would be uncaught and take the process down. Nothing is lost by
  // ignoring it here: the query running, or the next one on that client, fails with the same
  // error (a 503 DATABASE_UNAVAILABLE), and the pool then discards the client.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

async function pgliteDialect(directory: string): Promise<Dialect> {
  // Loaded only here: PGlite's code alone is some 40 MB of memory a PostgreSQL deployment never uses.
  const [{ PGlite }, { PGliteDialect }, { pg_trgm }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('kysely-pglite-dialect'),
    // The trigram indexes of the searches (migration 20261204150000) need pg_trgm.
    import('@electric-sql/pglite/contrib/pg_trgm'),
  ]);
  const absolute = resolve(directory);
  // PGlite creates its data folder but not the folders above it.
  mkdirSync(dirname(absolute), { recursive: true });
  const pglite = await PGlite.create(absolute, { extensions: { pg_trgm } });
  return new PGliteDialect(pglite);
}

export async function createDatabase(options: DatabaseOptions, logger: Logger): Promise<DatabaseHandle> {
  const url = options.url;
  const pool = url === undefined ? undefined : postgresPool({ ...options, url }, logger);
  const dialect =
    pool === undefined
      ? await pgliteDialect(options.pgliteDir)
      : timeBoundPostgresDialect({ pool }, options.statementTimeoutMs);
  const db = new Kysely<Database>({
    // What the driver fails with is marked, so only the database's own lost connections read as an outage.
    dialect: markingDatabaseErrors(dialect, options.observeQuery),
    ...(options.logQueries ? { log: queryLogger(logger) } : {}),
  });
  return {
    db,
    kind: url === undefined ? 'pglite' : 'postgres',
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
    poolStats:
      pool === undefined
        ? undefined
        : () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  };
}
