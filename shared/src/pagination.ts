import { z } from 'zod';

export const MAX_PAGE_LIMIT = 100;
export const DEFAULT_PAGE_LIMIT = 20;

/** Offset paging shared by every list procedure; `limit` over 100 is a 400, never silently capped. */
export const PageQuerySchema = z.strictObject({
  limit: z.int().min(1).max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT),
  offset: z.int().min(0).max(1_000_000).default(0),
});

/** `{ items, total, limit, offset }` around any item schema. */
export function pageOf<Item extends z.ZodType>(item: Item) {
  return z.object({
    items: z.array(item),
    total: z.int().min(0),
    limit: z.int(),
    offset: z.int(),
  });
}

export interface Page<Item> {
  items: Item[];
  total: number;
  limit: number;
  offset: number;
}
