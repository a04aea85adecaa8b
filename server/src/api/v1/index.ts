import type { AnyTRPCProcedure } from '@trpc/server';
import { router } from '../trpc.ts';
import type { ApiVersion } from '../versioning.ts';
import { authRouter } from './auth.ts';
import { listOrdersV1, ordersProcedures } from './orders.ts';
import { productsRouter } from './products.ts';
import { systemRouter } from './system.ts';
import { usersRouter } from './users.ts';

/**
 * One version of the API: every procedure the versions share as it is (the version's name goes
 * into the REST paths), with the version's own `orders.list`.
 */
export function versionRouter<ListOrders extends AnyTRPCProcedure>(version: ApiVersion, listOrders: ListOrders) {
  return router({
    auth: authRouter(version),
    users: usersRouter(version),
    products: productsRouter(version),
    orders: router({ ...ordersProcedures(version), list: listOrders }),
    system: systemRouter(version),
  });
}

export const v1Router = versionRouter('v1', listOrdersV1);
