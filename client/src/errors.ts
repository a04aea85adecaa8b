import type { ErrorCode, ValidationIssue } from '@orders/shared';
import type { AppRouter } from '@orders/server';
import { TRPCClientError } from '@trpc/client';

/** What the server says about a failed call, on any protocol: the API's error envelope. */
export interface OrdersErrorData {
  code: ErrorCode;
  message: string;
  request_id: string;
  reason?: string;
  issues?: ValidationIssue[];
  /** The order a 402 PAYMENT_DECLINED or 502 PAYMENT_GATEWAY_UNAVAILABLE kept as payment_failed. */
  order_id?: string;
  httpStatus: number;
  path?: string;
}

export type OrdersError<Code extends ErrorCode = ErrorCode> = TRPCClientError<AppRouter> & {
  data: OrdersErrorData & { code: Code };
};

function hasEnvelope(data: unknown): data is OrdersErrorData {
  return (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as { code?: unknown }).code === 'string' &&
    typeof (data as { request_id?: unknown }).request_id === 'string'
  );
}

/**
 * True when `error` is an error the API answered with, narrowed to one code if given:
 * `if (isOrdersError(err, 'PAYMENT_DECLINED')) show(err.data.message, err.data.request_id)`.
 */
export function isOrdersError<Code extends ErrorCode>(error: unknown, code?: Code): error is OrdersError<Code> {
  if (!(error instanceof TRPCClientError)) return false;
  const data: unknown = error.data;
  return hasEnvelope(data) && (code === undefined || data.code === code);
}
