import { ErrorEnvelopeSchema } from '@orders/shared';
import type { AnyRouter } from '@trpc/server';
import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { BEARER_SCHEME, describeOperations } from './openapi-errors.ts';

export const API_BASE_PATH = '/api';

const TAGS = [
  {
    name: 'auth',
    description:
      'Accounts and sessions: register, log in, trade a refresh token for a new session, log out, and who am I.',
  },
  {
    name: 'users',
    description: 'User administration, for admins: list and look up users, change a role, lock an account.',
  },
  {
    name: 'products',
    description:
      'The catalogue: anyone browses active products; admins also see inactive ones, and add and change products.',
  },
  {
    name: 'orders',
    description:
      'Orders and payments: place an order and charge it at once, pay a declined one again, cancel one (a paid one is refunded), and see every payment attempt.',
  },
  {
    name: 'system',
    description: 'The API itself: a ping that answers through the whole stack.',
  },
];

type Schemas = NonNullable<NonNullable<OpenAPIObject['components']>['schemas']>;

/** Every `$ref` string anywhere in a JSON value. */
function refsIn(value: unknown, refs: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) refsIn(item, refs);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string') refs.add(child);
      else refsIn(child, refs);
    }
  }
  return refs;
}

/** Rewrites every `$ref` equal to `from` into `to`, in place. */
function renameRefs(value: unknown, from: string, to: string): void {
  if (Array.isArray(value)) {
    for (const item of value) renameRefs(item, from, to);
  } else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const [key, child] of Object.entries(record)) {
      if (key === '$ref' && child === from) record[key] = to;
      else renameRefs(child, from, to);
    }
  }
}

/**
 * zod-openapi writes a schema used on both sides twice (`ValidationIssue` for input and
 * `ValidationIssueOutput`) even where only one is used: drop the schemas nothing reaches from
 * the paths, and give an output schema left alone its plain name.
 */
function tidySchemas(document: OpenAPIObject): void {
  const schemas: Schemas = document.components?.schemas ?? {};
  const prefix = '#/components/schemas/';
  const reached = new Set<string>();
  let frontier = [...refsIn(document.paths)];
  while (frontier.length > 0) {
    const names = frontier.filter((ref) => ref.startsWith(prefix)).map((ref) => ref.slice(prefix.length));
    frontier = [];
    for (const name of names) {
      if (reached.has(name)) continue;
      reached.add(name);
      frontier.push(...refsIn(schemas[name]));
    }
  }
  for (const name of Object.keys(schemas)) {
    if (!reached.has(name)) delete schemas[name];
  }
  for (const name of Object.keys(schemas)) {
    const plain = name.replace(/Output$/, '');
    const schema = schemas[name];
    if (plain === name || plain in schemas || !schema) continue;
    schemas[plain] = schema;
    delete schemas[name];
    renameRefs(document, `${prefix}${name}`, `${prefix}${plain}`);
  }
}

/**
 * The OpenAPI 3.1 document of every procedure with `meta.openapi`, as the server really
 * answers: each operation lists every error status it can return, pointing at the one Error
 * envelope (`code`, `message`, `request_id`, `issues`) and naming its codes. `servers` is
 * relative so Swagger's "Try it out" works under any host name.
 */
export function createOpenApiDocument(appRouter: AnyRouter, version: string): OpenAPIObject {
  const document = generateOpenApiDocument(appRouter, {
    title: 'orders-service',
    description:
      'Orders and payments API. Every operation is also a tRPC procedure at `/trpc`. Errors share one envelope: a stable `code`, a `message`, the `request_id`, and `issues` for validation; each error response lists the codes it carries.',
    version,
    baseUrl: API_BASE_PATH,
    securitySchemes: {
      [BEARER_SCHEME]: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'The `accessToken` of a session from auth.register, auth.login or auth.refresh; it lives 15 minutes.',
      },
    },
    defs: { Error: ErrorEnvelopeSchema },
  });
  describeOperations(document, appRouter);
  document.tags = TAGS;
  tidySchemas(document);
  return document;
}
