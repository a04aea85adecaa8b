import { SpanKind } from '@opentelemetry/api';
import type { QueryObserver } from '../db/database-driver.ts';
import { redactString } from '../logging/redact.ts';
import type { Metrics } from './metrics.ts';
import { activeTracer, recordFailure } from './tracing.ts';

/** A statement written by hand may name itself in a leading comment: `/* place_order *\/ with ...`. */
const NAMED = /^\s*\/\*\s*([a-z_]{1,40})\s*\*\/\s*/;
const OPERATION = /^\s*(?:\/\*\s*[a-z_]{1,40}\s*\*\/\s*)?([a-z]{1,16})/i;
const OPERATIONS = new Set(['select', 'insert', 'update', 'delete', 'with', 'begin', 'commit', 'rollback']);
/** The first table a statement names (Kysely quotes identifiers); PostgreSQL's are at most 63 bytes. */
const TABLE = /\b(?:from|into|update)\s+"([^"]{1,63})"/i;

/** The statement's operation, lower case, one of a few (anything else is `other`): a bounded label. */
export function operationOf(sql: string): string {
  const word = OPERATION.exec(sql)?.[1]?.toLowerCase();
  return word !== undefined && OPERATIONS.has(word) ? word : 'other';
}

/**
 * Each SQL statement as a client span (`SELECT orders`; `db.system` postgresql; the statement
 * as Kysely compiled it, with `$1` placeholders, never its values) and in the query duration
 * histogram. Undefined when tracing and metrics are both off: statements then go straight to
 * the driver.
 */
export function createQueryObserver(metrics: Metrics | undefined): QueryObserver | undefined {
  const tracer = activeTracer();
  if (tracer === undefined && metrics === undefined) return undefined;
  return async (query, run) => {
    const operation = operationOf(query.sql);
    const started = performance.now();
    const observe = () => metrics?.observeQuery(operation, (performance.now() - started) / 1000);
    if (tracer === undefined) return run().finally(observe);
    // A statement written by hand over several tables is known by its name (its query summary);
    // another by its first table.
    const named = NAMED.exec(query.sql)?.[1];
    const table = named === undefined ? TABLE.exec(query.sql)?.[1] : undefined;
    const target = named ?? table;
    const name = target === undefined ? operation.toUpperCase() : `${operation.toUpperCase()} ${target}`;
    const attributes = {
      'db.system': 'postgresql',
      'db.system.name': 'postgresql',
      'db.operation.name': operation.toUpperCase(),
      'db.query.text': redactString(query.sql),
      ...(table === undefined ? {} : { 'db.collection.name': table }),
      ...(named === undefined ? {} : { 'db.query.summary': name }),
    };
    return tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      try {
        return await run();
      } catch (error) {
        recordFailure(span, error);
        throw error;
      } finally {
        observe();
        span.end();
      }
    });
  };
}
