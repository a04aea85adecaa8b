import type { ErrorCode } from '@orders/shared';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { ProcedureMeta } from './meta.ts';

export type ApiVersion = 'v1' | 'v2';

/**
 * A procedure's REST side and the error codes its own work can refuse with. No `protect`: who
 * may call it is the rung of the procedure ladder it is built from (trpc.ts), and the OpenAPI
 * document's security comes from that.
 */
type RouteMeta = Omit<NonNullable<OpenApiMeta['openapi']>, 'protect'> & { errors: readonly ErrorCode[] };

/**
 * The meta of one procedure under one API version: the REST path gets the version prefix
 * (`/products` -> `/v1/products`) and the operation id its version, so v2 can reuse v1's
 * procedure definitions without two routes colliding in the OpenAPI document.
 *
 * @example
 * .meta(route(version, { method: 'GET', path: '/orders/{orderId}', operationId: 'orders.get', errors: ['ORDER_NOT_FOUND'] }))
 */
export function route(version: ApiVersion, { errors, ...openapi }: RouteMeta): ProcedureMeta {
  return {
    openapi: {
      ...openapi,
      path: `/${version}${openapi.path}` as RouteMeta['path'],
      operationId: `${version}.${openapi.operationId ?? openapi.path}`,
    },
    errors,
  };
}
