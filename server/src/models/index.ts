export type { Database, TableCountsTable } from './database.ts';
export type * from './products.ts';
export type * from './users.ts';
export type * from './orders.ts';
