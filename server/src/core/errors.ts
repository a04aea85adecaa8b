import type { ErrorCode } from '@orders/shared';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';

/** Each stable code's HTTP status and the tRPC code that carries it, in one table. */
export const ERROR_TABLE: Record<ErrorCode, { status: number; trpc: TRPC_ERROR_CODE_KEY }> = {
  BAD_REQUEST: { status: 400, trpc: 'BAD_REQUEST' },
  VALIDATION_FAILED: { status: 400, trpc: 'BAD_REQUEST' },
  MALFORMED_JSON: { status: 400, trpc: 'PARSE_ERROR' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, trpc: 'UNSUPPORTED_MEDIA_TYPE' },
  PAYLOAD_TOO_LARGE: { status: 413, trpc: 'PAYLOAD_TOO_LARGE' },
  REQUEST_TIMEOUT: { status: 408, trpc: 'TIMEOUT' },
  // Nobody hears it (the client is gone): it is what the logs say of a request abandoned mid-way.
  CLIENT_CLOSED_REQUEST: { status: 499, trpc: 'CLIENT_CLOSED_REQUEST' },
  UNAUTHORIZED: { status: 401, trpc: 'UNAUTHORIZED' },
  INVALID_CREDENTIALS: { status: 401, trpc: 'UNAUTHORIZED' },
  // Not 401: the caller's token is fine, and a 401 would make clients drop or refresh it.
  INVALID_CURRENT_PASSWORD: { status: 400, trpc: 'BAD_REQUEST' },
  FORBIDDEN: { status: 403, trpc: 'FORBIDDEN' },
  NOT_FOUND: { status: 404, trpc: 'NOT_FOUND' },
  ROUTE_NOT_FOUND: { status: 404, trpc: 'NOT_FOUND' },
  PRODUCT_NOT_FOUND: { status: 404, trpc: 'NOT_FOUND' },
  USER_NOT_FOUND: { status: 404, trpc: 'NOT_FOUND' },
  EMAIL_TAKEN: { status: 409, trpc: 'CONFLICT' },
  SKU_TAKEN: { status: 409, trpc: 'CONFLICT' },
  ORDER_NOT_FOUND: { status: 404, trpc: 'NOT_FOUND' },
  OUT_OF_STOCK: { status: 409, trpc: 'CONFLICT' },
  CURRENCY_MISMATCH: { status: 422, trpc: 'UNPROCESSABLE_CONTENT' },
  ORDER_TOTAL_TOO_LARGE: { status: 422, trpc: 'UNPROCESSABLE_CONTENT' },
  PAYMENT_DECLINED: { status: 402, trpc: 'PAYMENT_REQUIRED' },
  PAYMENT_GATEWAY_UNAVAILABLE: { status: 502, trpc: 'BAD_GATEWAY' },
  INVALID_STATE_TRANSITION: { status: 409, trpc: 'CONFLICT' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, trpc: 'CONFLICT' },
  IDEMPOTENCY_KEY_IN_PROGRESS: { status: 409, trpc: 'CONFLICT' },
  INVALID_IDEMPOTENCY_KEY: { status: 400, trpc: 'BAD_REQUEST' },
  INVALID_CURSOR: { status: 400, trpc: 'BAD_REQUEST' },
  METHOD_NOT_ALLOWED: { status: 405, trpc: 'METHOD_NOT_SUPPORTED' },
  CONFLICT: { status: 409, trpc: 'CONFLICT' },
  LAST_ADMIN: { status: 409, trpc: 'CONFLICT' },
  RATE_LIMITED: { status: 429, trpc: 'TOO_MANY_REQUESTS' },
  DATABASE_UNAVAILABLE: { status: 503, trpc: 'SERVICE_UNAVAILABLE' },
  INTERNAL: { status: 500, trpc: 'INTERNAL_SERVER_ERROR' },
};

/** The code a tRPC error gets when nothing more specific was thrown. */
export const CODE_FOR_TRPC: Partial<Record<TRPC_ERROR_CODE_KEY, ErrorCode>> = {
  PARSE_ERROR: 'MALFORMED_JSON',
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_SUPPORTED: 'METHOD_NOT_ALLOWED',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  TIMEOUT: 'REQUEST_TIMEOUT',
  CLIENT_CLOSED_REQUEST: 'CLIENT_CLOSED_REQUEST',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
  SERVICE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
};

/**
 * A failure the client should hear about: a stable code, a message written for humans, and
 * `context` for the log (never sent to the client).
 *
 * @example
 * throw new AppError('PRODUCT_NOT_FOUND', `No product ${productId}`, { context: { productId } });
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  readonly context: Record<string, unknown> | undefined;
  /** Extra response headers, e.g. `Retry-After` on RATE_LIMITED. */
  readonly headers: Record<string, string> | undefined;
  /** The exact reason of an authentication refusal (`Expired Token`), told to the client too. */
  readonly reason: string | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: {
      context?: Record<string, unknown>;
      headers?: Record<string, string>;
      reason?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = ERROR_TABLE[code].status;
    this.context = options.context;
    this.headers = options.headers;
    this.reason = options.reason;
  }
}
