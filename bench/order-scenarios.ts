import type { BenchFixture } from './fixture.ts';
import type { LoadRequest } from './load.ts';
import type { Scenario } from './scenarios.ts';

/**
 * orders.create with its payment (pm_card_visa, one line of one unit), on the hand-written
 * floor (floor-create-order.ts) and on the service over both protocols, each with an
 * Idempotency-Key (a new one every request) and without, on two shapes of load: every order
 * for one hot product (its row lock is what 50 connections wait on) and orders spread over
 * the fixture's many products in turn. The keyed ones are measured in their pairs only (see
 * Scenario.pairedOnly): the table has the calls without a key, whose CPU and latency differ
 * little, and the run stays shorter.
 */
export type Spread = 'hot' | 'spread';

const SHAPES: Record<Spread, string> = { hot: 'one hot product', spread: 'spread products' };
const KEYED = ', Idempotency-Key';

/** The floor's scenario name for a shape of load, with or without a key. */
export const floorCreate = (spread: Spread, keyed: boolean) =>
  `floor: orders.create, ${SHAPES[spread]}${keyed ? KEYED : ''}`;

/** The service's scenario name for a protocol and shape of load, with or without a key. */
export const serviceCreate = (protocol: 'tRPC' | 'REST', spread: Spread, keyed: boolean) =>
  `service: ${protocol} orders.create, ${SHAPES[spread]}${keyed ? KEYED : ''}`;

function createRequest(
  path: string,
  { spread, keyed }: { spread: Spread; keyed: boolean },
  fixture: BenchFixture,
): LoadRequest {
  const body = (productId: string) =>
    JSON.stringify({ items: [{ productId, quantity: 1 }], paymentMethod: 'pm_card_visa' });
  return {
    path,
    method: 'POST',
    headers: { authorization: `Bearer ${fixture.accessToken}`, 'content-type': 'application/json' },
    ...(spread === 'hot' ? { body: body(fixture.productId) } : { bodies: fixture.spreadProductIds.map(body) }),
    ...(keyed && { uniqueHeader: 'Idempotency-Key' }),
  };
}

const VARIANTS = (['hot', 'spread'] as const).flatMap((spread) => [false, true].map((keyed) => ({ spread, keyed })));

/** Every orders.create scenario: the floors first, then the service's. */
export const ORDER_CREATE_SCENARIOS: Scenario[] = [
  ...VARIANTS.map(({ spread, keyed }) => ({
    name: floorCreate(spread, keyed),
    server: 'floor',
    pairedOnly: keyed,
    request: (f: BenchFixture) => createRequest('/orders', { spread, keyed }, f),
  })),
  ...(['tRPC', 'REST'] as const).flatMap((protocol) =>
    VARIANTS.map(({ spread, keyed }) => ({
      name: serviceCreate(protocol, spread, keyed),
      server: 'service',
      pairedOnly: keyed,
      baseline: floorCreate(spread, keyed),
      request: (f: BenchFixture) =>
        createRequest(protocol === 'tRPC' ? '/trpc/v1.orders.create' : '/api/v1/orders/create', { spread, keyed }, f),
    })),
  ),
];

/** The pairs that read orders.create against its floor: each service scenario with the floor of its load. */
export const ORDER_CREATE_PAIRS = ORDER_CREATE_SCENARIOS.flatMap((scenario) =>
  scenario.baseline ? [{ scenario: scenario.name, baseline: scenario.baseline }] : [],
);
