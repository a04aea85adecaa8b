import { router } from '../trpc.ts';
import { sharedRouters } from '../v1/index.ts';

/** v2 reuses every v1 procedure definition as it is; only orders.list differs (keyset paging). */
export const v2Router = router({
  ...sharedRouters('v2'),
});
