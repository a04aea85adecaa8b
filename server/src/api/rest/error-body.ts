import type { ErrorEnvelope } from '@orders/shared';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { CODE_FOR_TRPC } from '../../core/errors.ts';

/** What a REST error answer is built from: the tRPC error shape our errorFormatter made, and the tRPC code. */
export interface RestErrorSource {
  /** The shape's `data`: the envelope fields the errorFormatter put there. */
  data?: Partial<ErrorEnvelope> | undefined;
  trpcCode?: string | undefined;
  message?: string | undefined;
}

/**
 * The API's error envelope `{ code, message, request_id, reason?, issues? }` of a failed REST
 * call. The errorFormatter always fills `data`; the fallbacks only matter for an error shaped
 * without it.
 */
export function restErrorEnvelope({ data, trpcCode, message }: RestErrorSource, requestId: string): ErrorEnvelope {
  return {
    code: data?.code ?? CODE_FOR_TRPC[(trpcCode ?? 'INTERNAL_SERVER_ERROR') as TRPC_ERROR_CODE_KEY] ?? 'INTERNAL',
    message: data?.message ?? message ?? 'Internal server error',
    request_id: data?.request_id ?? requestId,
    ...(data?.reason ? { reason: data.reason } : {}),
    ...(data?.issues ? { issues: data.issues } : {}),
  };
}
