/**
 * What the REST handlers read of zod 4's internals (`schema._zod`), in one place: zod is
 * pinned exactly, and the comparison tests (`query-coercion.test.ts`, `native-handler.test.ts`)
 * fail if an upgrade moves what is read here.
 */

/** The parts of a zod 4 schema's definition read here: its type, its coercion, where its inner schemas are. */
export interface SchemaDef {
  type: string;
  coerce?: boolean;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  element?: unknown;
  in?: unknown;
  out?: unknown;
  options?: readonly unknown[];
  getter?: () => unknown;
}

/** The zod types trpc-to-openapi coerces a query string's values to. */
export const COERCIBLE_TYPES: ReadonlySet<string> = new Set(['number', 'boolean', 'bigint', 'date']);

/** A schema's definition; undefined for anything that is not a zod 4 schema. */
export function defOf(schema: unknown): SchemaDef | undefined {
  const def = (schema as { _zod?: { def?: SchemaDef } } | null | undefined)?._zod?.def;
  return typeof def?.type === 'string' ? def : undefined;
}

/** The inner schema a lazy schema parses with: its getter's result, which zod keeps from the first call. */
export function lazyParsedSchemaOf(schema: unknown): unknown {
  return (schema as { _zod: { innerType?: unknown } })._zod.innerType;
}
