import { router } from '../trpc.ts';
import { productsRouter } from '../v1/products.ts';

/** v2 reuses every v1 procedure definition as it is; only orders.list differs (keyset paging). */
export const v2Router = router({
  products: productsRouter('v2'),
});
