import { ErrorEnvelopeSchema } from '@orders/shared';
import { generateOpenApiDocument } from 'trpc-to-openapi';
import type { AppRouter } from './router.ts';

export const API_BASE_PATH = '/api';

/**
 * The OpenAPI 3.1 document of every procedure with `meta.openapi`. `servers` is relative so
 * Swagger's "Try it out" works under any host name.
 */
export function createOpenApiDocument(appRouter: AppRouter, version: string) {
  return generateOpenApiDocument(appRouter, {
    title: 'orders-service',
    description:
      'Orders and payments API. Every procedure is also callable over tRPC at `/trpc`. Errors share one envelope: `code`, `message`, `request_id`, and `issues` for validation.',
    version,
    baseUrl: API_BASE_PATH,
    tags: ['products'],
    defs: { Error: ErrorEnvelopeSchema },
  });
}
