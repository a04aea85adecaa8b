import { router } from '../trpc.ts';
import type { ApiVersion } from '../versioning.ts';
import { authRouter } from './auth.ts';
import { productsRouter } from './products.ts';
import { usersRouter } from './users.ts';

/** The procedures v1 and v2 share as they are; a version passes its name for the REST paths. */
export function sharedRouters(version: ApiVersion) {
  return {
    auth: authRouter(version),
    users: usersRouter(version),
    products: productsRouter(version),
  };
}

export const v1Router = router({
  ...sharedRouters('v1'),
});
