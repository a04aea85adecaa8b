import type { AnyProcedure } from '@trpc/server';
import { COERCIBLE_TYPES, defOf, lazyParsedSchemaOf, type SchemaDef } from './zod-internals.ts';

/** The zod types a query string is coerced to, with zod's own coercion for each. */
export type CoercedKind = 'number' | 'boolean' | 'bigint' | 'date';

/** One input field whose query-string value is coerced: `arrays` levels of arrays around the scalar. */
export interface CoercedField {
  key: string;
  kind: CoercedKind;
  arrays: number;
}

/**
 * How a route turns its request into the procedure's input, worked out once at start from the
 * input schema, never by changing it.
 */
export interface InputPlan {
  /** The input is `z.void()`-like: the procedure gets `undefined`. */
  none: boolean;
  /** Keys whose schema is an array (or an optional one): a single query value becomes `[value]`. */
  arrayKeys: string[];
  /** Query values coerced the way trpc-to-openapi's zod coercion would. */
  coerced: CoercedField[];
}

const VOID_LIKE = new Set(['void', 'undefined', 'never']);
const TRANSPARENT = new Set(['optional', 'nullable', 'default', 'prefault']);

/**
 * A lazy schema's inner schema as trpc-to-openapi reaches it: by calling the getter again. When
 * that gives another schema than the one zod parses with (a getter that builds a new one each
 * time), trpc-to-openapi's coercion lands on a copy nobody uses: `sticks` is false.
 */
function lazyInner(schema: unknown, def: SchemaDef): { schema: unknown; sticks: boolean } {
  const inner = def.getter?.();
  return { schema: inner, sticks: lazyParsedSchemaOf(schema) === inner };
}

/**
 * trpc-to-openapi's `unwrapZodType(schema, true)` for a whole input: wrappers, arrays and pipes
 * off; `sticks` is false when a lazy schema on the way makes coercion land on a copy.
 */
function unwrapInput(schema: unknown): { def: SchemaDef | undefined; sticks: boolean } {
  let current = schema;
  let sticks = true;
  for (let depth = 0; depth < 64; depth++) {
    const def = defOf(current);
    if (!def) return { def, sticks };
    if (def.type === 'array') current = def.element;
    else if (TRANSPARENT.has(def.type)) current = def.innerType;
    else if (def.type === 'lazy') {
      const inner = lazyInner(current, def);
      current = inner.schema;
      sticks &&= inner.sticks;
    } else if (def.type === 'pipe') current = defOf(def.out)?.type === 'transform' ? def.in : def.out;
    else return { def, sticks };
  }
  return { def: undefined, sticks };
}

/**
 * The scalar a field coerces to, as trpc-to-openapi finds it (`unwrapZodType(field, false)`):
 * through optional, nullable, default, prefault, lazy and arrays, but not pipes; an enum is a
 * string and is not coerced.
 */
function coercedScalarOf(schema: unknown): { kind: CoercedKind; arrays: number } | undefined {
  let current = schema;
  let arrays = 0;
  for (let depth = 0; depth < 64; depth++) {
    const def = defOf(current);
    if (!def) return undefined;
    if (def.type === 'array') {
      arrays++;
      current = def.element;
    } else if (TRANSPARENT.has(def.type)) current = def.innerType;
    else if (def.type === 'lazy') {
      const inner = lazyInner(current, def);
      if (!inner.sticks) return undefined;
      current = inner.schema;
    } else return COERCIBLE_TYPES.has(def.type) ? { kind: def.type as CoercedKind, arrays } : undefined;
  }
  return undefined;
}

function isArraySchema(schema: unknown): boolean {
  const def = defOf(schema);
  return def?.type === 'array' || (def?.type === 'optional' && defOf(def.innerType)?.type === 'array');
}

interface InputShape {
  none: boolean;
  shape: Record<string, unknown> | undefined;
  /** Whether trpc-to-openapi's coercion reaches the schemas zod parses with. */
  sticks: boolean;
}

/** The object shape trpc-to-openapi reads a procedure's input as (several inputs are merged). */
function inputShapeOf(procedure: AnyProcedure): InputShape {
  const inputs = procedure._def.inputs as unknown[];
  if (inputs.length >= 2) {
    const shape = Object.assign({}, ...inputs.map((input) => defOf(input)?.shape ?? {})) as Record<string, unknown>;
    return { none: false, shape, sticks: true };
  }
  if (inputs.length === 0) return { none: false, shape: {}, sticks: true };
  const { def, sticks } = unwrapInput(inputs[0]);
  if (def && VOID_LIKE.has(def.type)) return { none: true, shape: undefined, sticks };
  return { none: false, shape: def?.type === 'object' ? def.shape : undefined, sticks };
}

/**
 * The plan of a route. A body carries its own JSON types, so a body route gets neither
 * wrapping nor coercion; a query route (GET, DELETE) gets both, for every field of its input
 * object (nested objects cannot come from a query string).
 */
export function inputPlanOf(procedure: AnyProcedure, { fromQuery }: { fromQuery: boolean }): InputPlan {
  const { none, shape, sticks } = inputShapeOf(procedure);
  const plan: InputPlan = { none, arrayKeys: [], coerced: [] };
  if (!fromQuery || shape === undefined) return plan;
  for (const [key, field] of Object.entries(shape)) {
    if (isArraySchema(field)) plan.arrayKeys.push(key);
    const scalar = sticks ? coercedScalarOf(field) : undefined;
    if (scalar) plan.coerced.push({ key, ...scalar });
  }
  return plan;
}

/** zod's coercion of one value, failures left for the schema to report, as zod does. */
function coerceScalar(value: unknown, kind: CoercedKind): unknown {
  try {
    switch (kind) {
      case 'number':
        return Number(value);
      case 'boolean':
        return Boolean(value);
      case 'bigint':
        return BigInt(value as string);
      case 'date':
        return new Date(value as string);
    }
  } catch {
    return value;
  }
}

function coerceValue(value: unknown, kind: CoercedKind, arrays: number): unknown {
  if (arrays === 0) return coerceScalar(value, kind);
  // Not an array where the schema wants one: the schema says so; there is nothing to coerce.
  return Array.isArray(value) ? value.map((item) => coerceValue(item, kind, arrays - 1)) : value;
}

/**
 * The input of a query route: the query's values (a repeated key gives an array), then the
 * path parameters over them, array fields wrapped, and coercible fields coerced.
 */
export function queryInput(
  plan: InputPlan,
  query: URLSearchParams | undefined,
  params: Record<string, string>,
): Record<string, unknown> | undefined {
  if (plan.none) return undefined;
  const input: Record<string, unknown> = {};
  query?.forEach((value, key) => {
    // trpc-to-openapi spreads the query into the input, which drops `__proto__`; so does this,
    // without ever reaching the object's prototype.
    if (key === '__proto__') return;
    if (!Object.hasOwn(input, key)) input[key] = value;
    else {
      const previous = input[key];
      if (Array.isArray(previous)) previous.push(value);
      else input[key] = [previous, value];
    }
  });
  for (const name in params) input[name] = params[name];
  for (const key of plan.arrayKeys) {
    const value = input[key];
    if (value !== undefined && !Array.isArray(value)) input[key] = [value];
  }
  // Only values that are there: an absent field stays absent, so the schema answers "received
  // undefined" (trpc-to-openapi's coercion would say "received NaN"), and its default applies.
  for (const { key, kind, arrays } of plan.coerced) {
    if (Object.hasOwn(input, key)) input[key] = coerceValue(input[key], kind, arrays);
  }
  return input;
}

/** The input of a body route: the JSON body spread as trpc-to-openapi spreads it, path parameters over it. */
export function bodyInput(plan: InputPlan, body: unknown, params: Record<string, string>): unknown {
  if (plan.none) return undefined;
  return { ...(body ?? {}), ...params };
}
