import { ListOrdersV2InputSchema, OrderCursorPageSchema } from '@orders/shared';
import { listOrdersAfter } from '../../services/orders/index.ts';
import { protectedProcedure } from '../trpc.ts';
import { route } from '../versioning.ts';

/** Keyset paging on (created_at, id), newest first, with lines; the cursor is opaque and signed. */
export const listOrdersV2 = protectedProcedure
  .meta(
    route('v2', {
      method: 'GET',
      path: '/orders',
      operationId: 'orders.list',
      tags: ['orders'],
      summary: 'List orders (keyset paging)',
      description:
        "Your orders, newest first; admins see everyone's, or one user's with userId. Pass nextCursor back as cursor for the next page; it is null on the last one.",
      errors: ['INVALID_CURSOR'],
    }),
  )
  .input(ListOrdersV2InputSchema)
  .output(OrderCursorPageSchema)
  .query(async ({ ctx, input }) => {
    const cursor = input.cursor === undefined ? undefined : ctx.cursors.decode(input.cursor);
    const page = await listOrdersAfter(ctx.db, { ...input, cursor, actor: ctx.user });
    return { items: page.items, nextCursor: page.hasMore && page.last ? ctx.cursors.encode(page.last) : null };
  });
