import { GetProductInputSchema, ListProductsInputSchema, ProductPageSchema, ProductSchema } from '@orders/shared';
import { getProduct, listProducts } from '../../services/products.ts';
import { publicProcedure, router } from '../trpc.ts';
import { route, type ApiVersion } from '../versioning.ts';

export function productsRouter(version: ApiVersion) {
  return router({
    list: publicProcedure
      .meta(
        route(version, {
          method: 'GET',
          path: '/products',
          operationId: 'products.list',
          tags: ['products'],
          summary: 'List active products',
          description: 'Newest first, offset paging. `q` matches name or SKU, case-insensitively.',
        }),
      )
      .input(ListProductsInputSchema)
      .output(ProductPageSchema)
      .query(({ ctx, input }) => listProducts(ctx.db, { ...input, includeInactive: false })),

    get: publicProcedure
      .meta(
        route(version, {
          method: 'GET',
          path: '/products/{productId}',
          operationId: 'products.get',
          tags: ['products'],
          summary: 'Get one product',
        }),
      )
      .input(GetProductInputSchema)
      .output(ProductSchema)
      .query(({ ctx, input }) => getProduct(ctx.db, { productId: input.productId, includeInactive: false })),
  });
}
