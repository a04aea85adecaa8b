import { STATUS_CODES } from 'node:http';
import { ERROR_CODES, type ErrorCode } from '@orders/shared';
import type { AnyRouter } from '@trpc/server';
import type { OpenAPIObject } from 'trpc-to-openapi';
import { ERROR_TABLE } from '../../core/errors.ts';
import type { Access, ProcedureMeta } from '../../api/meta.ts';
import { METHODS_WITH_BODY } from '../rest/methods-with-body.ts';
import { openApiProceduresOf } from '../rest/openapi-procedures.ts';
import { CODE_DOCS, EXAMPLE_REQUEST_ID, ORDER_KEEPING_CODES, exampleEnvelope } from './error-code-docs.ts';

type PathItem = NonNullable<OpenAPIObject['paths']>[string];
type Operation = NonNullable<PathItem['get']>;
type Components = NonNullable<OpenAPIObject['components']>;

export const BEARER_SCHEME = 'bearerAuth';
const ERROR_SCHEMA_REF = '#/components/schemas/Error';
const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });
const exampleRef = (code: ErrorCode) => ({ $ref: `#/components/examples/${code}` });

/** What one operation's procedure declares in its meta: who may call it, and its own error codes. */
interface Declared {
  access: Access;
  errors: readonly ErrorCode[];
}

/** Any operation can refuse its input, fail, or find the database gone. */
const EVERY_OPERATION: readonly ErrorCode[] = ['VALIDATION_FAILED', 'INTERNAL', 'DATABASE_UNAVAILABLE'];
/**
 * The REST handler reads the body of every POST, PUT, PATCH and DELETE before the procedure
 * runs; one that does not arrive whole in time is answered 408.
 */
const WITH_BODY: readonly ErrorCode[] = [
  'MALFORMED_JSON',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
  'REQUEST_TIMEOUT',
];
/** What each rung of the procedure ladder refuses: `viewer` operations refuse a bad token rather than treat its bearer as anonymous. */
const BY_ACCESS: Record<Access, readonly ErrorCode[]> = {
  anyone: [],
  viewer: ['UNAUTHORIZED'],
  user: ['UNAUTHORIZED'],
  admin: ['UNAUTHORIZED', 'FORBIDDEN'],
};
const SECURITY: Record<Access, Record<string, string[]>[]> = {
  anyone: [],
  // The token is optional: without one the caller is anonymous.
  viewer: [{}, { [BEARER_SCHEME]: [] }],
  user: [{ [BEARER_SCHEME]: [] }],
  admin: [{ [BEARER_SCHEME]: [] }],
};

/** Headers an error status always carries, beside `X-Request-Id`. */
const HEADERS_BY_STATUS: Partial<Record<number, readonly string[]>> = {
  401: ['WWW-Authenticate'],
  429: ['Retry-After'],
  503: ['Retry-After'],
};

/** Response headers the document describes once, in `components.headers`. */
const RESPONSE_HEADERS: NonNullable<Components['headers']> = {
  'X-Request-Id': {
    description:
      "This request's id in the logs: the caller's own `X-Request-Id` when it is sane, else a new UUID. Error bodies repeat it as `request_id`.",
    required: true,
    schema: { type: 'string', example: EXAMPLE_REQUEST_ID },
  },
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    required: true,
    schema: { type: 'integer', minimum: 0, example: 42 },
  },
  'WWW-Authenticate': {
    description: 'An RFC 6750 Bearer challenge; when a token was refused it names the reason.',
    required: true,
    schema: {
      type: 'string',
      example: 'Bearer realm="orders-service", error="invalid_token", error_description="Expired Token"',
    },
  },
};

/** One error status of one operation: the codes it carries, what each means, an example of each. */
function errorResponse(status: number, codes: readonly ErrorCode[]) {
  const lines = codes.map((code) => `- \`${code}\`: ${CODE_DOCS[code].meaning}`);
  // A status whose every code names its order (402, 502) requires `order_id` in its body.
  const namesOrder = codes.every((code) => ORDER_KEEPING_CODES.has(code));
  return {
    description: [`${STATUS_CODES[status] ?? 'Error'}:`, '', ...lines].join('\n'),
    headers: Object.fromEntries(
      ['X-Request-Id', ...(HEADERS_BY_STATUS[status] ?? [])].map((name) => [name, headerRef(name)]),
    ),
    content: {
      'application/json': {
        schema: {
          allOf: [
            { $ref: ERROR_SCHEMA_REF },
            {
              type: 'object',
              required: namesOrder ? ['code', 'order_id'] : ['code'],
              properties: { code: { type: 'string', enum: codes } },
            },
          ],
        },
        examples: Object.fromEntries(codes.map((code) => [code, exampleRef(code)])),
      },
    },
  };
}

/**
 * What each operation's procedure declares, by operation id. Its access comes from the rung of
 * the procedure ladder it is built from; its errors from its own `.meta()`, which `route()` requires.
 */
function declaredByOperation(router: AnyRouter): Map<string, Declared> {
  const declared = new Map<string, Declared>();
  for (const { path, procedure, openapi } of openApiProceduresOf(router)) {
    const { access, errors } = (procedure._def.meta ?? {}) as ProcedureMeta;
    if (access === undefined) throw new Error(`OpenAPI: ${path} declares no access: build it from a rung of trpc.ts`);
    if (errors === undefined) throw new Error(`OpenAPI: ${path} declares no errors in its meta`);
    declared.set(openapi.operationId ?? path, { access, errors });
  }
  return declared;
}

/** Every error code an operation can answer with, grouped by HTTP status, in status order. */
function errorCodesByStatus(method: string, { access, errors }: Declared): Map<number, ErrorCode[]> {
  const codes = new Set<ErrorCode>([
    ...EVERY_OPERATION,
    ...(METHODS_WITH_BODY.has(method.toUpperCase()) ? WITH_BODY : []),
    ...BY_ACCESS[access],
    ...errors,
  ]);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_TABLE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

function describeOperation(method: string, operation: Operation, declared: Declared): ErrorCode[] {
  const operationId = operation.operationId ?? '';
  operation.security = SECURITY[declared.access];
  const success = (operation.responses as Record<string, { headers?: unknown }>)['200'];
  if (!success) throw new Error(`OpenAPI: ${operationId} has no 200 response`);
  const byStatus = errorCodesByStatus(method, declared);
  operation.responses = {
    '200': { ...success, headers: { 'X-Request-Id': headerRef('X-Request-Id') } },
    ...Object.fromEntries([...byStatus].map(([status, codes]) => [String(status), errorResponse(status, codes)])),
  };
  return [...byStatus.values()].flat();
}

/**
 * Replaces trpc-to-openapi's guessed error responses with the ones each operation really
 * answers, read from its procedure's meta: every status it can return, pointing at the one
 * Error envelope, narrowed to the codes that status carries there, with an example of each;
 * sets each operation's security requirement from its access; and adds the shared headers and
 * examples to the components.
 */
export function describeOperations(document: OpenAPIObject, router: AnyRouter): void {
  const declared = declaredByOperation(router);
  const usedCodes = new Set<ErrorCode>();
  for (const pathItem of Object.values(document.paths ?? {})) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = pathItem[method];
      if (!operation) continue;
      const ofOperation = declared.get(operation.operationId ?? '');
      if (!ofOperation) throw new Error(`OpenAPI: no procedure declares ${operation.operationId ?? method}`);
      for (const code of describeOperation(method, operation, ofOperation)) usedCodes.add(code);
    }
  }
  const examples = Object.fromEntries(
    ERROR_CODES.filter((code) => usedCodes.has(code)).map((code) => [
      code,
      { summary: CODE_DOCS[code].meaning, value: exampleEnvelope(code) },
    ]),
  );
  document.components = { ...document.components, headers: RESPONSE_HEADERS, examples };
}
