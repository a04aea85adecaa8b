import { router } from '../trpc.ts';
import type { ApiVersion } from '../versioning.ts';
import { authRouter } from './auth.ts';
import { listOrdersV1, ordersRouter } from './orders.ts';
import { productsRouter } from './products.ts';
import { systemRouter } from './system.ts';
import { usersRouter } from './users.ts';

/** The procedures v1 and v2 share as they are; a version passes its name for the REST paths. */
export function sharedRouters(version: ApiVersion) {
  return {
    auth: authRouter(version),
    users: usersRouter(version),
    products: productsRouter(version),
    orders: ordersRouter(version),
    system: systemRouter(version),
  };
}

const shared = sharedRouters('v1');

export const v1Router = router({
  ...shared,
  orders: router({ ...shared.orders._def.record, list: listOrdersV1 }),
});
