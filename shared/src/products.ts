import { z } from 'zod';
import { MoneySchema } from './money.ts';
import { PageQuerySchema, pageOf } from './pagination.ts';
import { safeText } from './text.ts';

/** The most stock an admin may give a product: far below its integer column's limit (2,147,483,647). */
export const MAX_STOCK = 1_000_000;

export const ProductIdSchema = safeText()
  .regex(/^prd_[0-9A-Za-z]{1,40}$/, 'must be a product id like prd_…')
  .meta({ example: 'prd_01JD4X8ZQ0M3V6N2' });

export const ProductSchema = z
  .object({
    id: ProductIdSchema,
    sku: z.string().meta({ example: 'MUG-001' }),
    name: z.string().meta({ example: 'Ceramic mug' }),
    description: z.string().nullable().meta({ example: 'Stoneware, 350 ml, dishwasher safe' }),
    price: MoneySchema,
    stock: z.int().min(0).meta({ example: 25 }),
    active: z.boolean(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Product' });
export type Product = z.infer<typeof ProductSchema>;

/** Every field has a default, so the input itself may be left out: `v1.products.list()`. */
export const ListProductsInputSchema = PageQuerySchema.extend({
  q: safeText().trim().min(1).max(100).optional().meta({ description: 'matches name or sku' }),
}).prefault({});
export type ListProductsInput = z.infer<typeof ListProductsInputSchema>;

export const ProductPageSchema = pageOf(ProductSchema).meta({ id: 'ProductPage' });

export const GetProductInputSchema = z.strictObject({ productId: ProductIdSchema });
export type GetProductInput = z.infer<typeof GetProductInputSchema>;

export const CreateProductInputSchema = z.strictObject({
  sku: safeText()
    .trim()
    .regex(/^[A-Z0-9][A-Z0-9-]{0,63}$/, 'must be 1-64 capital letters, digits or dashes, e.g. MUG-001')
    .meta({ example: 'MUG-001' }),
  name: safeText().trim().min(1).max(200).meta({ example: 'Ceramic mug' }),
  description: safeText().trim().max(5000).nullable().optional(),
  price: MoneySchema,
  stock: z.int().min(0).max(MAX_STOCK),
  active: z.boolean().optional().meta({ description: 'defaults to true' }),
});
export type CreateProductInput = z.infer<typeof CreateProductInputSchema>;

export const UpdateProductInputSchema = CreateProductInputSchema.partial().extend({ productId: ProductIdSchema });
export type UpdateProductInput = z.infer<typeof UpdateProductInputSchema>;
