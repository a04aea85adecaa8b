import type { Page } from '@orders/shared';
import { sql } from 'kysely';

/** `%text%` for ILIKE, with LIKE's wildcards in `text` escaped so a search for `50%` means "50%". */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/** `count(*) as total`: a string on pg and a number on PGlite, so read it with Number(). */
export const countAsTotal = sql<string | number>`count(*)`.as('total');

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
