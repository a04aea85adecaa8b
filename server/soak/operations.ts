import { ACCOUNT_OPERATIONS } from './account-operations.ts';
import { ORDER_OPERATIONS } from './order-operations.ts';
import { PRODUCT_OPERATIONS } from './product-operations.ts';
import type { Operation } from './world.ts';

/** What the traffic does, with how often (weights out of 100); in this order, which a seed replays. */
export const OPERATIONS: Operation[] = [...PRODUCT_OPERATIONS, ...ORDER_OPERATIONS, ...ACCOUNT_OPERATIONS];

/** Picks an operation by weight. */
export function pickOperation(random: () => number): Operation {
  const total = OPERATIONS.reduce((sum, operation) => sum + operation.weight, 0);
  let roll = random() * total;
  for (const operation of OPERATIONS) {
    roll -= operation.weight;
    if (roll < 0) return operation;
  }
  return OPERATIONS[0] as Operation;
}
