import {
  CompiledQuery,
  PostgresDialect,
  PostgresDriver,
  type DatabaseConnection,
  type Dialect,
  type PostgresDialectConfig,
  type TransactionSettings,
} from 'kysely';

/**
 * The statement timeout is set with `SET LOCAL` as each transaction begins, never as a
 * connection's startup option or a session `SET`: behind PgBouncer in transaction pooling mode
 * a startup option is refused at connect (unless the pooler is told to ignore it), and session
 * state would stay on a server connection another client gets next. The `begin` and the
 * `set local` go in one simple-protocol message, so a transaction pays no extra round trip.
 *
 * A statement outside a transaction is bounded by the role's or database's own
 * `statement_timeout` (`ALTER ROLE ... SET statement_timeout`), which PostgreSQL applies
 * itself when the pooler opens its connection (see the README's Deployment section).
 */
export function beginStatement(settings: TransactionSettings, statementTimeoutMs: number): string {
  const ms = Math.trunc(statementTimeoutMs);
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new Error(`statement timeout must be a positive integer: ${ms}`);
  const mode = [
    settings.isolationLevel ? `isolation level ${settings.isolationLevel}` : '',
    settings.accessMode ?? '',
  ].filter(Boolean);
  const begin = mode.length > 0 ? `start transaction ${mode.join(' ')}` : 'begin';
  return `${begin}; set local statement_timeout = ${ms}`;
}

class TimeBoundPostgresDriver extends PostgresDriver {
  constructor(
    config: PostgresDialectConfig,
    private readonly statementTimeoutMs: number,
  ) {
    super(config);
  }

  override async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(beginStatement(settings, this.statementTimeoutMs)));
  }
}

/** Kysely's PostgreSQL dialect, every transaction of which sets its own statement timeout. */
export function timeBoundPostgresDialect(config: PostgresDialectConfig, statementTimeoutMs: number): Dialect {
  const dialect = new PostgresDialect(config);
  return {
    createDriver: () => new TimeBoundPostgresDriver(config, statementTimeoutMs),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}
