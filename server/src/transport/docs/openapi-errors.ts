import { STATUS_CODES } from 'node:http';
import { ERROR_CODES, MAX_MONEY_AMOUNT, type ErrorCode, type ErrorEnvelope } from '@orders/shared';
import type { OpenAPIObject } from 'trpc-to-openapi';
import { ERROR_TABLE } from '../../core/errors.ts';
import { METHODS_WITH_BODY } from '../rest/methods-with-body.ts';

type PathItem = NonNullable<OpenAPIObject['paths']>[string];
type Operation = NonNullable<PathItem['get']>;
type Components = NonNullable<OpenAPIObject['components']>;

export const BEARER_SCHEME = 'bearerAuth';
const ERROR_SCHEMA_REF = '#/components/schemas/Error';
const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });
const exampleRef = (code: ErrorCode) => ({ $ref: `#/components/examples/${code}` });

/**
 * Who may call an operation. It decides the operation's security requirement and whether it
 * can answer 401 and 403: `viewer` operations are public but refuse a bad token rather than
 * treat its bearer as anonymous.
 */
type Access = 'anyone' | 'viewer' | 'user' | 'admin';

interface OperationErrors {
  access: Access;
  /** What the operation's own procedure and services refuse with, beside what every operation can. */
  codes: readonly ErrorCode[];
}

const IDEMPOTENCY_CODES = ['INVALID_IDEMPOTENCY_KEY', 'IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_IN_PROGRESS'] as const;

/**
 * Every REST operation's access and domain error codes, keyed by its operation id without the
 * version (`orders.create`); a versioned key (`v2.orders.list`) wins for an operation whose
 * version differs. Each code answers at the status `ERROR_TABLE` gives it.
 */
const OPERATION_ERRORS: Record<string, OperationErrors> = {
  'auth.register': { access: 'anyone', codes: ['EMAIL_TAKEN', 'RATE_LIMITED'] },
  'auth.login': { access: 'anyone', codes: ['INVALID_CREDENTIALS', 'RATE_LIMITED'] },
  'auth.refresh': { access: 'anyone', codes: ['UNAUTHORIZED', 'RATE_LIMITED'] },
  'auth.logout': { access: 'anyone', codes: ['UNAUTHORIZED'] },
  'auth.changePassword': { access: 'user', codes: ['INVALID_CURRENT_PASSWORD', 'RATE_LIMITED'] },
  'auth.me': { access: 'user', codes: [] },
  'system.ping': { access: 'anyone', codes: [] },
  'users.list': { access: 'admin', codes: [] },
  'users.get': { access: 'admin', codes: ['USER_NOT_FOUND'] },
  'users.update': { access: 'admin', codes: ['USER_NOT_FOUND', 'CONFLICT', 'LAST_ADMIN'] },
  'products.list': { access: 'viewer', codes: [] },
  'products.get': { access: 'viewer', codes: ['PRODUCT_NOT_FOUND'] },
  'products.create': { access: 'admin', codes: ['SKU_TAKEN'] },
  'products.update': { access: 'admin', codes: ['PRODUCT_NOT_FOUND', 'SKU_TAKEN'] },
  'orders.create': {
    access: 'user',
    codes: [
      'PRODUCT_NOT_FOUND',
      'OUT_OF_STOCK',
      'INVALID_STATE_TRANSITION',
      'CURRENCY_MISMATCH',
      'ORDER_TOTAL_TOO_LARGE',
      'PAYMENT_DECLINED',
      'PAYMENT_GATEWAY_UNAVAILABLE',
      ...IDEMPOTENCY_CODES,
    ],
  },
  'orders.pay': {
    access: 'user',
    codes: [
      'ORDER_NOT_FOUND',
      'OUT_OF_STOCK',
      'INVALID_STATE_TRANSITION',
      'PAYMENT_DECLINED',
      'PAYMENT_GATEWAY_UNAVAILABLE',
      ...IDEMPOTENCY_CODES,
    ],
  },
  'orders.cancel': {
    access: 'user',
    codes: ['ORDER_NOT_FOUND', 'INVALID_STATE_TRANSITION', 'PAYMENT_GATEWAY_UNAVAILABLE'],
  },
  'orders.get': { access: 'user', codes: ['ORDER_NOT_FOUND'] },
  'orders.payments': { access: 'user', codes: ['ORDER_NOT_FOUND'] },
  'orders.list': { access: 'user', codes: [] },
  'v2.orders.list': { access: 'user', codes: ['INVALID_CURSOR'] },
};

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

const EXAMPLE_REQUEST_ID = '2f1c9a4e-7b3d-4e8a-9c61-5d0b7a3e8f12';

/** What each code means to a caller, and a message as the API writes it. */
const CODE_DOCS: Record<ErrorCode, { meaning: string; message: string }> = {
  BAD_REQUEST: { meaning: 'the request cannot be served as sent', message: 'Bad request' },
  VALIDATION_FAILED: {
    meaning: 'the input breaks its schema (`issues` names each field and what is wrong), or a rule on the whole input',
    message: 'Invalid input: ✖ Too big: expected number to be <=100 → at limit',
  },
  MALFORMED_JSON: {
    meaning: 'the body is not valid JSON',
    message: 'Request body is not valid JSON: Unexpected end of JSON input',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    meaning: 'a body was sent with a Content-Type other than application/json',
    message: 'Content-Type must be application/json (got text/plain)',
  },
  PAYLOAD_TOO_LARGE: {
    meaning: 'the body is over the size limit (1 MiB unless configured otherwise)',
    message: 'Request body is larger than the limit of 1048576 bytes',
  },
  REQUEST_TIMEOUT: {
    meaning: 'the request (its headers, or its body) did not arrive whole in time; the connection is closed',
    message: 'The request did not arrive whole in time',
  },
  CLIENT_CLOSED_REQUEST: {
    meaning: 'the client closed the connection before its request arrived whole (written in the logs; no one hears it)',
    message: 'The client closed the connection before the request body arrived whole',
  },
  UNAUTHORIZED: {
    meaning: 'the token is missing or refused; `reason` and the `WWW-Authenticate` header say why',
    message: 'Authentication failed: Expired Token',
  },
  INVALID_CREDENTIALS: {
    meaning: 'the email or the password is wrong (the answer does not say which)',
    message: 'Email or password is wrong',
  },
  INVALID_CURRENT_PASSWORD: {
    meaning: 'the current password given is wrong; nothing was changed',
    message: 'The current password is wrong; nothing was changed',
  },
  FORBIDDEN: { meaning: 'the token is valid but its user is not an admin', message: 'This needs the admin role' },
  NOT_FOUND: { meaning: 'nothing answers at this path', message: 'Not found' },
  ROUTE_NOT_FOUND: { meaning: 'no route for this method and path', message: 'No route for GET /api/v1/nowhere' },
  PRODUCT_NOT_FOUND: {
    meaning: 'no such product, or one that is not for sale (inactive products are visible to admins only)',
    message: 'No product with id prd_01JD4X8ZQ0M3V6N2',
  },
  USER_NOT_FOUND: { meaning: 'no such user', message: 'No user with id usr_01JD4X8ZQ0M3V6N2T9K7W5A1BC' },
  EMAIL_TAKEN: {
    meaning: 'an account with this email exists already',
    message: 'An account with this email exists already',
  },
  SKU_TAKEN: { meaning: 'another product has this SKU', message: 'A product with SKU MUG-001 exists already' },
  ORDER_NOT_FOUND: {
    meaning: "no such order among those the caller may see (someone else's order is not found either)",
    message: 'No order with id ord_01JD4X8ZQ0M3V6N2T9K7W5A1BC',
  },
  OUT_OF_STOCK: {
    meaning: 'a line asks for more than is in stock; nothing was reserved or charged',
    message: 'Not enough stock for product prd_01JD4X8ZQ0M3V6N2 (asked for 3)',
  },
  CURRENCY_MISMATCH: {
    meaning: 'the products are priced in different currencies; an order is paid in one',
    message: 'An order is paid in one currency; these products are priced in EUR and USD',
  },
  ORDER_TOTAL_TOO_LARGE: {
    meaning: `the lines add up to more than the largest order total (${MAX_MONEY_AMOUNT.toLocaleString('en-US')} minor units); nothing was reserved or charged`,
    message: `The order total of 1,200,000,000 minor units (EUR) is over the largest order total of ${MAX_MONEY_AMOUNT.toLocaleString('en-US')} minor units; split it into smaller orders`,
  },
  PAYMENT_DECLINED: {
    meaning:
      'the payment method was declined; the order is kept as `payment_failed`, to be paid again with another method',
    message: 'Card declined: insufficient funds. The order is kept as payment_failed; pay it with another method.',
  },
  PAYMENT_GATEWAY_UNAVAILABLE: {
    meaning:
      'the payment gateway failed or did not answer in time; nothing was charged (or refunded), so the call may be retried',
    message: 'Payment gateway unavailable: processing error. The order is kept as payment_failed; try paying it again.',
  },
  INVALID_STATE_TRANSITION: {
    meaning: "the order's status does not allow this (or changed meanwhile)",
    message: 'Order ord_01JD4X8ZQ0M3V6N2T9K7W5A1BC is paid; it cannot be paid',
  },
  IDEMPOTENCY_KEY_REUSED: {
    meaning: 'this Idempotency-Key was used with a different request',
    message: 'This Idempotency-Key was used with a different request; use a new key',
  },
  IDEMPOTENCY_KEY_IN_PROGRESS: {
    meaning: 'a request with this Idempotency-Key is still running',
    message: 'A request with this Idempotency-Key is still running; retry shortly',
  },
  INVALID_IDEMPOTENCY_KEY: {
    meaning: 'the Idempotency-Key header is not 1 to 255 visible ASCII characters',
    message: 'Idempotency-Key must be 1 to 255 visible ASCII characters',
  },
  INVALID_CURSOR: {
    meaning: 'the cursor is not one this API gave out',
    message: 'The cursor is not one this API gave out; start again without it',
  },
  METHOD_NOT_ALLOWED: { meaning: 'the path does not take this method', message: 'Method not allowed' },
  CONFLICT: {
    meaning: 'the change conflicts with the current state, e.g. an admin disabling or demoting their own account',
    message: 'You cannot disable or demote your own account',
  },
  LAST_ADMIN: {
    meaning: 'the change would leave no active admin (demoting or disabling the last one)',
    message: 'This is the last active admin; make another admin first',
  },
  RATE_LIMITED: {
    meaning: 'too many attempts from this IP address or for this email; `Retry-After` says when to try again',
    message: 'Too many attempts; try again in 42 s',
  },
  DATABASE_UNAVAILABLE: {
    meaning: 'the database does not answer right now; `Retry-After` says when to try again',
    message: 'The database is not reachable right now; try again shortly',
  },
  INTERNAL: {
    meaning: 'an unexpected failure; the message is generic and the log has the details under the `request_id`',
    message: 'Internal server error',
  },
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

function exampleEnvelope(code: ErrorCode): ErrorEnvelope {
  const envelope: ErrorEnvelope = { code, message: CODE_DOCS[code].message, request_id: EXAMPLE_REQUEST_ID };
  if (code === 'UNAUTHORIZED') return { ...envelope, reason: 'Expired Token' };
  if (code === 'FORBIDDEN') return { ...envelope, reason: 'Insufficient Role' };
  if (code === 'VALIDATION_FAILED') {
    return {
      ...envelope,
      issues: [{ path: 'limit', message: 'Too big: expected number to be <=100', code: 'too_big' }],
    };
  }
  return envelope;
}

/** One error status of one operation: the codes it carries, what each means, an example of each. */
function errorResponse(status: number, codes: readonly ErrorCode[]) {
  const lines = codes.map((code) => `- \`${code}\`: ${CODE_DOCS[code].meaning}`);
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
            { type: 'object', required: ['code'], properties: { code: { type: 'string', enum: codes } } },
          ],
        },
        examples: Object.fromEntries(codes.map((code) => [code, exampleRef(code)])),
      },
    },
  };
}

/** The key of an operation id's entry (`v1.orders.create`): its own, else its unversioned name's. */
function entryKeyOf(operationId: string): string | undefined {
  const unversioned = operationId.replace(/^v\d+\./, '');
  return [operationId, unversioned].find((key) => key in OPERATION_ERRORS);
}

/** Every error code an operation can answer with, grouped by HTTP status, in status order. */
function errorCodesByStatus(method: string, entry: OperationErrors): Map<number, ErrorCode[]> {
  const codes = new Set<ErrorCode>([
    ...EVERY_OPERATION,
    ...(METHODS_WITH_BODY.has(method.toUpperCase()) ? WITH_BODY : []),
    ...BY_ACCESS[entry.access],
    ...entry.codes,
  ]);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_TABLE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

function describeOperation(method: string, operation: Operation): { key: string; codes: ErrorCode[] } {
  const operationId = operation.operationId ?? '';
  const key = entryKeyOf(operationId);
  const entry = key === undefined ? undefined : OPERATION_ERRORS[key];
  if (key === undefined || !entry) throw new Error(`OpenAPI: no entry in OPERATION_ERRORS for ${operationId}`);
  const needsToken = entry.access === 'user' || entry.access === 'admin';
  if (needsToken !== (operation.security !== undefined)) {
    throw new Error(
      `OpenAPI: ${operationId} is '${entry.access}' in OPERATION_ERRORS, but its meta says protect: ${String(!needsToken)}`,
    );
  }
  operation.security = SECURITY[entry.access];
  const success = (operation.responses as Record<string, { headers?: unknown }>)['200'];
  if (!success) throw new Error(`OpenAPI: ${operationId} has no 200 response`);
  const byStatus = errorCodesByStatus(method, entry);
  operation.responses = {
    '200': { ...success, headers: { 'X-Request-Id': headerRef('X-Request-Id') } },
    ...Object.fromEntries([...byStatus].map(([status, codes]) => [String(status), errorResponse(status, codes)])),
  };
  return { key, codes: [...byStatus.values()].flat() };
}

/**
 * Replaces trpc-to-openapi's guessed error responses with the ones each operation really
 * answers: every status it can return, pointing at the one Error envelope, narrowed to the
 * codes that status carries there, with an example of each; sets each operation's security
 * requirement from its access; and adds the shared headers and examples to the components.
 */
export function describeOperations(document: OpenAPIObject): void {
  const usedKeys = new Set<string>();
  const usedCodes = new Set<ErrorCode>();
  for (const pathItem of Object.values(document.paths ?? {})) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = pathItem[method];
      if (!operation) continue;
      const { key, codes } = describeOperation(method, operation);
      usedKeys.add(key);
      for (const code of codes) usedCodes.add(code);
    }
  }
  const stale = Object.keys(OPERATION_ERRORS).filter((key) => !usedKeys.has(key));
  if (stale.length > 0) throw new Error(`OpenAPI: OPERATION_ERRORS names no operation for ${stale.join(', ')}`);
  const examples = Object.fromEntries(
    ERROR_CODES.filter((code) => usedCodes.has(code)).map((code) => [
      code,
      { summary: CODE_DOCS[code].meaning, value: exampleEnvelope(code) },
    ]),
  );
  document.components = { ...document.components, headers: RESPONSE_HEADERS, examples };
}
