import type { Page } from '@orders/shared';
import { sql } from 'kysely';
import type { Db } from '../core/db/database.ts';
import type { TableCountsTable } from '../models/index.ts';

/** `%text%` for ILIKE, with LIKE's wildcards in `text` escaped so a search for `50%` means "50%". */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/** `count(*) as total`: a string on pg and a number on PGlite, so read it with Number(). */
export const countAsTotal = sql<string | number>`count(*)`.as('total');

/**
 * An unfiltered list's total, read from `table_counts` (kept by triggers): one row, however
 * large the table, where `count(*)` would read all of it.
 */
export function countedTotal(db: Db, name: TableCountsTable['name']): Promise<{ total: string | number }> {
  return db.selectFrom('table_counts').select('count as total').where('name', '=', name).executeTakeFirstOrThrow();
}

/** One offset page: the page's rows and the filtered total, queried together. */
export async function offsetPage<Row, Item>({
  rows,
  count,
  window,
  map,
}: {
  rows: Promise<Row[]>;
  count: Promise<{ total: string | number }>;
  window: { limit: number; offset: number };
  map: (rows: Row[]) => Item[] | Promise<Item[]>;
}): Promise<Page<Item>> {
  const [pageRows, counted] = await Promise.all([rows, count]);
  return { items: await map(pageRows), total: Number(counted.total), limit: window.limit, offset: window.offset };
}
