import type { AnyProcedure, AnyRouter } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';

/** A procedure's `meta.openapi`: its REST method, path, and the rest of its REST side. */
export type OpenApiSettings = NonNullable<OpenApiMeta['openapi']>;

export interface OpenApiProcedure {
  /** The procedure's tRPC path, `v1.products.get`. */
  path: string;
  procedure: AnyProcedure;
  openapi: OpenApiSettings;
}

/**
 * Every procedure of a router that has a `meta.openapi`, in the router's order (the order
 * trpc-to-openapi scans them in), read from tRPC's internals (`router._def.procedures`) in
 * this one place. Whether a REST route serves it (`enabled`, its type) is the caller's rule.
 */
export function openApiProceduresOf(router: AnyRouter): OpenApiProcedure[] {
  const found: OpenApiProcedure[] = [];
  for (const [path, procedure] of Object.entries(router._def.procedures as Record<string, AnyProcedure>)) {
    const openapi = (procedure._def.meta as OpenApiMeta | undefined)?.openapi;
    if (openapi) found.push({ path, procedure, openapi });
  }
  return found;
}
