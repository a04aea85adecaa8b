import { createQueryId, type Compilable, type CompiledQuery } from 'kysely';
import type { Db } from './database.ts';

/**
 * A query whose SQL never changes, compiled once per database handle and then run with new
 * parameter values. Kysely otherwise builds and compiles the query tree on every call — tens
 * of microseconds for a select — which the hottest reads (a product, an order, the caller's
 * account on every authenticated request) would pay on every request.
 *
 * `build` makes the query from the stand-in values given after it, each used exactly once;
 * the compiled parameters are checked to be those stand-ins in that order, so a value can
 * never land in another placeholder. A transaction is its own handle and compiles its own copy.
 *
 * @example
 * const productById = preparedQuery((db, id: string) => db.selectFrom('products').selectAll().where('id', '=', id), 'id');
 * const [row] = await productById(db, productId);
 */
export function preparedQuery<Row, Args extends readonly unknown[]>(
  build: (db: Db, ...args: Args) => Compilable<Row>,
  ...standIns: Args
): (db: Db, ...args: Args) => Promise<Row[]> {
  const compiledFor = new WeakMap<Db, CompiledQuery<Row>>();

  const compile = (db: Db): CompiledQuery<Row> => {
    const compiled = build(db, ...standIns).compile();
    const inOrder =
      compiled.parameters.length === standIns.length &&
      standIns.every((standIn, index) => compiled.parameters[index] === standIn);
    if (!inOrder) {
      throw new Error(
        `preparedQuery: compiled parameters ${JSON.stringify(compiled.parameters)} are not the stand-ins ${JSON.stringify(standIns)}, once each and in order`,
      );
    }
    compiledFor.set(db, compiled);
    return compiled;
  };

  return async (db, ...args) => {
    const compiled = compiledFor.get(db) ?? compile(db);
    // Written out rather than spread: on Node 20's V8 a spread followed by more keys is slow.
    const query = { query: compiled.query, sql: compiled.sql, parameters: args, queryId: createQueryId() };
    const result = await db.executeQuery<Row>(query);
    return result.rows;
  };
}
