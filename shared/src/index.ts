export * from './auth.ts';
export * from './errors.ts';
export * from './money.ts';
export * from './orders.ts';
export * from './pagination.ts';
export * from './products.ts';
export * from './users.ts';
export * from './system.ts';
