import { ErrorEnvelopeSchema } from '@orders/shared';
import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import type { AppRouter } from './router.ts';

export const API_BASE_PATH = '/api';

const ERROR_SCHEMA_REF = '#/components/schemas/Error';

/**
 * trpc-to-openapi describes errors with its own `error.<TRPC_CODE>` bodies; ours are the one
 * envelope (`code`, `message`, `request_id`, `issues`), so every error response points at it.
 */
function useErrorEnvelope(document: OpenAPIObject): OpenAPIObject {
  for (const pathItem of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(pathItem as Record<string, { responses?: Record<string, unknown> }>)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (Number(status) < 400 || typeof response !== 'object' || response === null) continue;
        Object.assign(response, { content: { 'application/json': { schema: { $ref: ERROR_SCHEMA_REF } } } });
      }
    }
  }
  const schemas = document.components?.schemas ?? {};
  for (const name of Object.keys(schemas)) {
    if (name.startsWith('error.')) delete schemas[name];
  }
  return document;
}

/**
 * The OpenAPI 3.1 document of every procedure with `meta.openapi`. `servers` is relative so
 * Swagger's "Try it out" works under any host name.
 */
export function createOpenApiDocument(appRouter: AppRouter, version: string): OpenAPIObject {
  return useErrorEnvelope(
    generateOpenApiDocument(appRouter, {
      title: 'orders-service',
      description:
        'Orders and payments API. Every operation is also a tRPC procedure at `/trpc`. Errors share one envelope: a stable `code`, a `message`, the `request_id`, and `issues` for validation.',
      version,
      baseUrl: API_BASE_PATH,
      tags: ['products'],
      defs: { Error: ErrorEnvelopeSchema },
    }),
  );
}
