import { pick } from './stats.ts';
import { fromAddressOf, outcomeOf, protocolOf } from './timed-call.ts';
import type { Operation } from './world.ts';

/** Looking at the catalogue, signed in or not. */
export const PRODUCT_OPERATIONS: Operation[] = [
  {
    name: 'browse products',
    weight: 22,
    run: (world, customer) => {
      const offset = Math.floor(world.random() * 10);
      return outcomeOf(world, {
        kind: 'products.list',
        procedure: 'products.list',
        input: { limit: 20, offset },
        ...fromAddressOf(customer),
      });
    },
  },
  {
    name: 'view a product',
    weight: 15,
    run: (world, customer) => {
      // Drawn before the product, so that a seed replays the traffic it always has.
      const protocol = protocolOf(world.random);
      return outcomeOf(world, {
        kind: 'products.get',
        procedure: 'products.get',
        protocol,
        input: { productId: pick(world.random, [...world.plentiful, ...world.scarce]) ?? '' },
        ...fromAddressOf(customer),
      });
    },
  },
];
