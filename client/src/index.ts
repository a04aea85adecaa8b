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
/** The API's zod schemas, for validating forms before they are sent. */
export * from '@orders/shared';

export type { AppRouter };
/** `RouterInputs['v1']['orders']['create']` is what `orders.create` takes. */
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
