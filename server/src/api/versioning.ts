import type { OpenApiMeta } from 'trpc-to-openapi';

export type ApiVersion = 'v1' | 'v2';

type RouteMeta = NonNullable<OpenApiMeta['openapi']>;

/**
 * The meta of one procedure under one API version: the REST path gets the version prefix
 * (`/products` -> `/v1/products`) and the operation id its version, so v2 can reuse v1's
 * procedure definitions without two routes colliding in the OpenAPI document. Routes are
 * public unless they say `protect: true`.
 */
export function route(version: ApiVersion, meta: RouteMeta): OpenApiMeta {
  return {
    openapi: {
      protect: false,
      ...meta,
      path: `/${version}${meta.path}` as RouteMeta['path'],
      operationId: `${version}.${meta.operationId ?? meta.path}`,
    },
  };
}
