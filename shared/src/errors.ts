import { z } from 'zod';

/**
 * Every stable error code the API answers with. Clients branch on these, never on messages.
 * Adding a code is fine; renaming or removing one breaks clients.
 */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'VALIDATION_FAILED',
  'MALFORMED_JSON',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
  'REQUEST_TIMEOUT',
  'CLIENT_CLOSED_REQUEST',
  'UNAUTHORIZED',
  'INVALID_CREDENTIALS',
  'INVALID_CURRENT_PASSWORD',
  'FORBIDDEN',
  'EMAIL_NOT_VERIFIED',
  'INVALID_TOKEN',
  'NOT_FOUND',
  'ROUTE_NOT_FOUND',
  'PRODUCT_NOT_FOUND',
  'USER_NOT_FOUND',
  'EMAIL_TAKEN',
  'SKU_TAKEN',
  'ORDER_NOT_FOUND',
  'OUT_OF_STOCK',
  'CURRENCY_MISMATCH',
  'ORDER_TOTAL_TOO_LARGE',
  'PAYMENT_DECLINED',
  'PAYMENT_GATEWAY_UNAVAILABLE',
  'INVALID_STATE_TRANSITION',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_KEY_IN_PROGRESS',
  'INVALID_IDEMPOTENCY_KEY',
  'INVALID_CURSOR',
  'METHOD_NOT_ALLOWED',
  'CONFLICT',
  'LAST_ADMIN',
  'RATE_LIMITED',
  'DATABASE_UNAVAILABLE',
  'INTERNAL',
] as const;
export const ErrorCodeSchema = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ValidationIssueSchema = z
  .object({
    path: z.string().meta({ description: 'dotted path of the field, empty for the whole input', example: 'limit' }),
    message: z.string().meta({ example: 'Too big: expected number to be <=100' }),
    code: z.string().meta({ description: 'zod issue code', example: 'too_big' }),
  })
  .meta({ id: 'ValidationIssue' });
export type ValidationIssue = z.infer<typeof ValidationIssueSchema>;

/** The body of every REST error, and the `data` of every tRPC error. */
export const ErrorEnvelopeSchema = z
  .object({
    code: ErrorCodeSchema,
    message: z.string(),
    request_id: z.string(),
    reason: z.string().optional().meta({
      description:
        'why authentication was refused, e.g. "Expired Token" (401/403), or why a mailed link\'s token was (INVALID_TOKEN, e.g. "Reset Token Expired")',
      example: 'Expired Token',
    }),
    issues: z.array(ValidationIssueSchema).optional(),
    order_id: z.string().optional().meta({
      description:
        'the order the failure concerns (402 PAYMENT_DECLINED, 502 PAYMENT_GATEWAY_UNAVAILABLE): a failed charge keeps it as payment_failed, to be paid again with orders.pay',
      example: 'ord_01JD4X8ZQ0M3V6N2T9K7W5A1BC',
    }),
  })
  .meta({ id: 'Error' });
export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;

export function isErrorCode(value: string): value is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(value);
}
