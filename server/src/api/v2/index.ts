import { router } from '../trpc.ts';
import { sharedRouters } from '../v1/index.ts';
import { listOrdersV2 } from './orders.ts';

const shared = sharedRouters('v2');

/** v2 reuses every v1 procedure definition as it is; only orders.list differs (keyset paging). */
export const v2Router = router({
  ...shared,
  orders: router({ ...shared.orders._def.record, list: listOrdersV2 }),
});
