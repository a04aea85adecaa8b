import { MAX_MONEY_AMOUNT, type ErrorCode, type ErrorEnvelope } from '@orders/shared';

export const EXAMPLE_REQUEST_ID = '2f1c9a4e-7b3d-4e8a-9c61-5d0b7a3e8f12';

/** What each code means to a caller, and a message as the API writes it. */
export const CODE_DOCS: Record<ErrorCode, { meaning: string; message: string }> = {
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
  EMAIL_NOT_VERIFIED: {
    meaning:
      'placing an order needs a verified email here (REQUIRE_VERIFIED_EMAIL); the link is mailed at registration and by auth.resendVerification',
    message: 'Verify your email address before placing an order; the link was mailed to you',
  },
  INVALID_TOKEN: {
    meaning: "the mailed link's token is unknown, used already, expired, or voided by a newer one; `reason` says which",
    message: 'This link cannot be used: Reset Token Expired; ask for a new one',
  },
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
      'the payment method was declined; the order is kept as `payment_failed`, to be paid again with another method; `order_id` names it',
    message: 'Card declined: insufficient funds. The order is kept as payment_failed; pay it with another method.',
  },
  PAYMENT_GATEWAY_UNAVAILABLE: {
    meaning:
      'the payment gateway failed or did not answer in time; nothing was charged (or refunded), so the call may be retried; `order_id` names the order (a new one is kept as `payment_failed`)',
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

/** Codes whose envelope names the order they concern in `order_id` (a failed charge keeps it as payment_failed). */
export const ORDER_KEEPING_CODES: ReadonlySet<ErrorCode> = new Set(['PAYMENT_DECLINED', 'PAYMENT_GATEWAY_UNAVAILABLE']);

/** An envelope as the API answers with `code`, for the document's examples. */
export function exampleEnvelope(code: ErrorCode): ErrorEnvelope {
  const envelope: ErrorEnvelope = { code, message: CODE_DOCS[code].message, request_id: EXAMPLE_REQUEST_ID };
  if (code === 'UNAUTHORIZED') return { ...envelope, reason: 'Expired Token' };
  if (code === 'FORBIDDEN') return { ...envelope, reason: 'Insufficient Role' };
  if (code === 'INVALID_TOKEN') return { ...envelope, reason: 'Reset Token Expired' };
  if (code === 'VALIDATION_FAILED') {
    return {
      ...envelope,
      issues: [{ path: 'limit', message: 'Too big: expected number to be <=100', code: 'too_big' }],
    };
  }
  if (ORDER_KEEPING_CODES.has(code)) return { ...envelope, order_id: 'ord_01JD4X8ZQ0M3V6N2T9K7W5A1BC' };
  return envelope;
}
