import type { AnyRouter } from '@trpc/server';
import { METHODS_WITH_BODY } from './methods-with-body.ts';
import { openApiProceduresOf } from './openapi-procedures.ts';
import { COERCIBLE_TYPES, defOf, type SchemaDef } from './zod-internals.ts';

const alwaysOff = () => false;
const ignore = () => undefined;

function pinOff(schema: unknown, seen: Set<SchemaDef>): void {
  const def = defOf(schema);
  if (!def || seen.has(def)) return;
  seen.add(def);
  if (COERCIBLE_TYPES.has(def.type)) {
    if (def.coerce !== true) Object.defineProperty(def, 'coerce', { get: alwaysOff, set: ignore, configurable: true });
    return;
  }
  const inner = [
    def.innerType,
    def.element,
    def.in,
    def.out,
    ...(def.options ?? []),
    ...Object.values(def.shape ?? {}),
  ];
  if (def.type === 'lazy' && def.getter) inner.push(def.getter());
  for (const child of inner) pinOff(child, seen);
}

/**
 * trpc-to-openapi turns zod coercion on (`def.coerce = true`) in the input schema of every
 * procedure it serves, JSON bodies included, and does it on the schema objects tRPC uses too:
 * `{"disabled":"false"}` would then lock an account, on both protocols. A query string needs
 * coercion; a JSON body carries its own types. So, once at start, coercion is pinned off in the
 * inputs of every procedure whose REST route takes a body (a schema written with `z.coerce`
 * keeps it).
 */
export function keepBodyInputsStrict(router: AnyRouter): void {
  const seen = new Set<SchemaDef>();
  for (const { procedure, openapi } of openApiProceduresOf(router)) {
    if (!METHODS_WITH_BODY.has(openapi.method)) continue;
    for (const input of procedure._def.inputs as unknown[]) pinOff(input, seen);
  }
}
