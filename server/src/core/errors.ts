import type { ErrorCode, ErrorEnvelope, ValidationIssue } from '@orders/shared';
import { bearerChallenge } from './http/bearer-challenge.ts';
import { currentRequestContext } from './logging/request-context.ts';

/** Each stable code's HTTP status, on every protocol. */
export const ERROR_TABLE: Record<ErrorCode, { status: number }> = {
  BAD_REQUEST: { status: 400 },
  VALIDATION_FAILED: { status: 400 },
  MALFORMED_JSON: { status: 400 },
  UNSUPPORTED_MEDIA_TYPE: { status: 415 },
  PAYLOAD_TOO_LARGE: { status: 413 },
  REQUEST_TIMEOUT: { status: 408 },
  // Nobody hears it (the client is gone): it is what the logs say of a request abandoned mid-way.
  CLIENT_CLOSED_REQUEST: { status: 499 },
  UNAUTHORIZED: { status: 401 },
  INVALID_CREDENTIALS: { status: 401 },
  // Not 401: the caller's token is fine, and a 401 would make clients drop or refresh it.
  INVALID_CURRENT_PASSWORD: { status: 400 },
  FORBIDDEN: { status: 403 },
  EMAIL_NOT_VERIFIED: { status: 403 },
  INVALID_TOKEN: { status: 400 },
  NOT_FOUND: { status: 404 },
  ROUTE_NOT_FOUND: { status: 404 },
  PRODUCT_NOT_FOUND: { status: 404 },
  USER_NOT_FOUND: { status: 404 },
  EMAIL_TAKEN: { status: 409 },
  SKU_TAKEN: { status: 409 },
  ORDER_NOT_FOUND: { status: 404 },
  OUT_OF_STOCK: { status: 409 },
  CURRENCY_MISMATCH: { status: 422 },
  ORDER_TOTAL_TOO_LARGE: { status: 422 },
  PAYMENT_DECLINED: { status: 402 },
  PAYMENT_GATEWAY_UNAVAILABLE: { status: 502 },
  INVALID_STATE_TRANSITION: { status: 409 },
  IDEMPOTENCY_KEY_REUSED: { status: 409 },
  IDEMPOTENCY_KEY_IN_PROGRESS: { status: 409 },
  INVALID_IDEMPOTENCY_KEY: { status: 400 },
  INVALID_CURSOR: { status: 400 },
  METHOD_NOT_ALLOWED: { status: 405 },
  CONFLICT: { status: 409 },
  LAST_ADMIN: { status: 409 },
  RATE_LIMITED: { status: 429 },
  DATABASE_UNAVAILABLE: { status: 503 },
  INTERNAL: { status: 500 },
};

/**
 * A failure the client should hear about: a stable code, a message written for humans, and
 * `context` for the log (never sent to the client). It carries its whole answer, the same on
 * every protocol: `status`, `headers` and `envelope`, which the transports write as they are.
 *
 * @example
 * throw new AppError('PRODUCT_NOT_FOUND', `No product ${productId}`, { context: { productId } });
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  readonly context: Record<string, unknown> | undefined;
  /**
   * The response headers of its answer: the ones it was thrown with (`Retry-After` on
   * RATE_LIMITED), and on every 401 the Bearer challenge, which one it was thrown with wins.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The exact reason of an authentication refusal (`Expired Token`), told to the client too. */
  readonly reason: string | undefined;
  /** Which fields of the input were wrong, and how (VALIDATION_FAILED). */
  readonly issues: ValidationIssue[] | undefined;
  /** The order a failed charge or refund concerns, told to the client so it need not search for it. */
  readonly orderId: string | undefined;
  #envelope: ErrorEnvelope | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: {
      context?: Record<string, unknown>;
      headers?: Record<string, string>;
      reason?: string;
      issues?: ValidationIssue[];
      orderId?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = ERROR_TABLE[code].status;
    this.context = options.context;
    this.headers =
      this.status === 401
        ? { 'WWW-Authenticate': bearerChallenge(options.reason), ...options.headers }
        : { ...options.headers };
    this.reason = options.reason;
    this.issues = options.issues;
    this.orderId = options.orderId;
  }

  /**
   * The body of its answer, `{ code, message, request_id, reason?, issues?, order_id? }`: built the first
   * time a protocol asks, in the request it answers (whose id the log lines carry too), then kept.
   */
  get envelope(): ErrorEnvelope {
    this.#envelope ??= {
      code: this.code,
      message: this.message,
      request_id: currentRequestContext()?.request_id ?? 'none',
      ...(this.reason === undefined ? {} : { reason: this.reason }),
      ...(this.issues === undefined ? {} : { issues: this.issues }),
      ...(this.orderId === undefined ? {} : { order_id: this.orderId }),
    };
    return this.#envelope;
  }
}
