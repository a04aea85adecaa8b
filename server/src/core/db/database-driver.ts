import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';
import { markDatabaseError } from './database-errors.ts';

const rethrowMarked = (error: unknown): never => {
  throw markDatabaseError(error);
};

/**
 * Runs one statement (`run`) and observes it: a span, a duration. Given only when tracing or
 * metrics are on; without one a statement goes straight to the driver.
 */
export type QueryObserver = <Row>(
  query: CompiledQuery,
  run: () => Promise<QueryResult<Row>>,
) => Promise<QueryResult<Row>>;

/** A connection whose failures are marked as the database layer's; the driver's own is kept to hand back. */
class MarkedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly observe: QueryObserver | undefined,
  ) {}

  executeQuery<Row>(query: CompiledQuery): Promise<QueryResult<Row>> {
    if (this.observe === undefined) return this.inner.executeQuery<Row>(query).then(undefined, rethrowMarked);
    return this.observe(query, () => this.inner.executeQuery<Row>(query).then(undefined, rethrowMarked));
  }

  async *streamQuery<Row>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<Row>> {
    try {
      yield* this.inner.streamQuery<Row>(query, chunkSize);
    } catch (error) {
      throw markDatabaseError(error);
    }
  }
}

const innerOf = (connection: DatabaseConnection) =>
  connection instanceof MarkedConnection ? connection.inner : connection;

type SavepointStep = NonNullable<Driver['savepoint']>;
type SavepointMethod = 'savepoint' | 'rollbackToSavepoint' | 'releaseSavepoint';

/** The inner driver's savepoint step, its failures marked; none where the inner driver has none. */
function markedSavepointStep(inner: Driver, method: SavepointMethod): SavepointStep | undefined {
  if (inner[method] === undefined) return undefined;
  return async (connection, name, compileQuery) => {
    try {
      await inner[method]?.(innerOf(connection), name, compileQuery);
    } catch (error) {
      throw markDatabaseError(error);
    }
  };
}

/**
 * The dialect's driver, with every failure it reports (connecting, a query, a transaction
 * statement) marked as the database layer's, so that `isDatabaseUnavailable` believes a lost
 * connection only when the database layer reported it. The driver itself gets its own
 * connections back (pg's driver releases a client through a private method of its connection).
 */
class MarkedDriver implements Driver {
  /** One wrapper per driver connection: drivers reuse their connections, so this stays small. */
  private readonly wrappers = new WeakMap<DatabaseConnection, MarkedConnection>();
  // Kysely tells whether a driver has savepoints by whether it has these: only where the inner one does.
  readonly savepoint: SavepointStep | undefined;
  readonly rollbackToSavepoint: SavepointStep | undefined;
  readonly releaseSavepoint: SavepointStep | undefined;

  constructor(
    private readonly inner: Driver,
    private readonly observe: QueryObserver | undefined,
  ) {
    this.savepoint = markedSavepointStep(inner, 'savepoint');
    this.rollbackToSavepoint = markedSavepointStep(inner, 'rollbackToSavepoint');
    this.releaseSavepoint = markedSavepointStep(inner, 'releaseSavepoint');
  }

  init(): Promise<void> {
    return this.inner.init().then(undefined, rethrowMarked);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.inner.acquireConnection().then(undefined, rethrowMarked);
    let wrapper = this.wrappers.get(connection);
    if (!wrapper) {
      wrapper = new MarkedConnection(connection, this.observe);
      this.wrappers.set(connection, wrapper);
    }
    return wrapper;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(innerOf(connection), settings).then(undefined, rethrowMarked);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(innerOf(connection)).then(undefined, rethrowMarked);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(innerOf(connection)).then(undefined, rethrowMarked);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(innerOf(connection));
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/**
 * `dialect`, with everything its driver fails with marked as the database layer's (see
 * database-errors.ts), and each statement shown to `observe` when one is given.
 */
export function markingDatabaseErrors(dialect: Dialect, observe?: QueryObserver): Dialect {
  return {
    createDriver: () => new MarkedDriver(dialect.createDriver(), observe),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}
