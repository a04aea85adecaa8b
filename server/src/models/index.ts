export type { Database } from './database.ts';
export type * from './products.ts';
