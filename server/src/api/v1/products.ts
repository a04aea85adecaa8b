import {
  CreateProductInputSchema,
  GetProductInputSchema,
  ListProductsInputSchema,
  ProductPageSchema,
  ProductSchema,
  UpdateProductInputSchema,
} from '@orders/shared';
import { createProduct, getProduct, listProducts, updateProduct } from '../../services/products.ts';
import { adminProcedure, router, viewerProcedure } from '../trpc.ts';
import { route, type ApiVersion } from '../versioning.ts';

export function productsRouter(version: ApiVersion) {
  return router({
    list: viewerProcedure
      .meta(
        route(version, {
          method: 'GET',
          path: '/products',
          operationId: 'products.list',
          tags: ['products'],
          summary: 'List products',
          description:
            'Newest first, offset paging. `q` matches name or SKU, case-insensitively. Inactive products are listed for admins only.',
          errors: [],
        }),
      )
      .input(ListProductsInputSchema)
      .output(ProductPageSchema)
      .query(({ ctx, input }) => listProducts(ctx.db, { ...input, includeInactive: ctx.viewer?.role === 'admin' })),

    get: viewerProcedure
      .meta(
        route(version, {
          method: 'GET',
          path: '/products/{productId}',
          operationId: 'products.get',
          tags: ['products'],
          summary: 'Get one product',
          errors: ['PRODUCT_NOT_FOUND'],
        }),
      )
      .input(GetProductInputSchema)
      .output(ProductSchema)
      .query(({ ctx, input }) =>
        getProduct(ctx.db, { productId: input.productId, includeInactive: ctx.viewer?.role === 'admin' }),
      ),

    create: adminProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/products',
          operationId: 'products.create',
          tags: ['products'],
          summary: 'Add a product (admin)',
          errors: ['SKU_TAKEN'],
        }),
      )
      .input(CreateProductInputSchema)
      .output(ProductSchema)
      .mutation(({ ctx, input }) => createProduct(ctx.db, input)),

    update: adminProcedure
      .meta(
        route(version, {
          method: 'PATCH',
          path: '/products/{productId}',
          operationId: 'products.update',
          tags: ['products'],
          summary: 'Change a product (admin)',
          errors: ['PRODUCT_NOT_FOUND', 'SKU_TAKEN'],
        }),
      )
      .input(UpdateProductInputSchema)
      .output(ProductSchema)
      .mutation(({ ctx, input }) => updateProduct(ctx.db, input)),
  });
}
