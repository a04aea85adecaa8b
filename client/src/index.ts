import type { AppRouter } from '@orders/server';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

export {
  createOrdersClient,
  MAX_BATCH_SIZE,
  type OrdersClient,
  type OrdersClientOptions,
  type RefreshOptions,
} from './client.ts';
export { isOrdersError, type OrdersError, type OrdersErrorData } from './errors.ts';
/**
 * The API's types (`Order`, `AuthSession`, `ErrorCode`, ...). The zod schemas themselves, for
 * validating forms, are in `@orders/client/schemas`: kept apart so a page that only calls the
 * API does not ship zod.
 */
export type * from '@orders/shared';

export type { AppRouter };
/** `RouterInputs['v1']['orders']['create']` is what `orders.create` takes. */
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
