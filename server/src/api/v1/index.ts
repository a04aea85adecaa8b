import { router } from '../trpc.ts';
import { productsRouter } from './products.ts';

export const v1Router = router({
  products: productsRouter('v1'),
});
