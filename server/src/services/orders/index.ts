export { cancelOrder } from './cancel-order.ts';
export { createOrder } from './create-order.ts';
export { createCursorCodec, type CursorCodec, type OrderCursor } from './cursor.ts';
export type { Actor, OrdersDeps } from './deps.ts';
export { payOrder } from './pay-order.ts';
export { getOrder, listOrders, listOrdersAfter, listPayments } from './queries.ts';
export { RECONCILE_LOCK_ID, reconcilePayments, type ReconcileResult } from './reconcile.ts';
