import { randomBytes } from 'node:crypto';
import { pick } from './stats.ts';
import { asCustomer, outcomeOf, timedCall } from './timed-call.ts';
import type { Customer, Operation, Outcome, World } from './world.ts';

function orderInput(world: World, { scarce = false, paymentMethod = 'pm_card_visa' } = {}): Record<string, unknown> {
  const source = scarce ? world.scarce : world.plentiful;
  const lines = scarce ? 1 : 1 + Math.floor(world.random() * 3);
  const ids = new Set<string>();
  while (ids.size < lines) ids.add(pick(world.random, source) ?? '');
  return {
    items: [...ids].map((productId) => ({ productId, quantity: 1 + Math.floor(world.random() * 2) })),
    paymentMethod,
  };
}

function newKey(): string {
  return `soak-${randomBytes(9).toString('base64url')}`;
}

/** orders.create with a new Idempotency-Key; the customer keeps what it was answered. */
async function createOrder(
  world: World,
  customer: Customer,
  { kind, input }: { kind: string; input: Record<string, unknown> },
): Promise<Outcome[]> {
  const key = newKey();
  const { outcome, answer } = await timedCall(world, {
    kind,
    procedure: 'orders.create',
    input,
    ...asCustomer(customer, { 'idempotency-key': key }),
  });
  if (answer.status === 200) {
    const order = answer.data as { id: string; status: string };
    customer.ordersSeen.add(order.id);
    customer.paid.push(order.id);
    customer.created.push({ key, input, orderId: order.id });
    if (customer.created.length > 20) customer.created.shift();
  } else if (answer.status === 402) {
    customer.declines += 1;
  }
  return [outcome];
}

/** An order paid by card: what an operation does when it has no order of its own to act on. */
const orderAndPay = (world: World, customer: Customer) =>
  createOrder(world, customer, { kind: 'orders.create', input: orderInput(world) });

/** Placing, paying, cancelling and reading orders, as a signed-in customer. */
export const ORDER_OPERATIONS: Operation[] = [
  { name: 'order and pay by card', weight: 18, run: orderAndPay },
  {
    name: 'order with a card that is declined',
    weight: 4,
    run: (world, customer) =>
      createOrder(world, customer, {
        kind: 'orders.create declined card',
        input: orderInput(world, { paymentMethod: 'pm_card_chargeDeclined' }),
      }),
  },
  {
    name: 'order a scarce product',
    weight: 3,
    run: (world, customer) =>
      createOrder(world, customer, {
        kind: 'orders.create scarce product',
        input: orderInput(world, { scarce: true }),
      }),
  },
  {
    name: 'send an order again with its Idempotency-Key',
    weight: 3,
    run: async (world, customer) => {
      const earlier = pick(world.random, customer.created);
      if (!earlier) return orderAndPay(world, customer);
      const { outcome, answer } = await timedCall(world, {
        kind: 'orders.create replayed key',
        procedure: 'orders.create',
        input: earlier.input,
        ...asCustomer(customer, { 'idempotency-key': earlier.key }),
      });
      const id = (answer.data as { id?: string } | undefined)?.id;
      if (answer.status === 200 && id !== earlier.orderId)
        outcome.wrong = `replay answered ${id} instead of ${earlier.orderId}`;
      return [outcome];
    },
  },
  {
    name: 'pay a declined order again',
    weight: 4,
    run: async (world, customer) => {
      const listed = await timedCall(world, {
        kind: 'orders.list',
        procedure: 'orders.list',
        input: { status: 'payment_failed', limit: 1 },
        ...asCustomer(customer),
      });
      const orderId = (listed.answer.data as { items?: { id: string }[] } | undefined)?.items?.[0]?.id;
      if (!orderId) return [listed.outcome];
      const paid = await timedCall(world, {
        kind: 'orders.pay',
        procedure: 'orders.pay',
        input: { orderId, paymentMethod: 'pm_card_mastercard' },
        ...asCustomer(customer),
      });
      if (paid.answer.status === 200) {
        customer.ordersSeen.add(orderId);
        customer.declines -= 1;
        customer.paid.push(orderId);
      }
      return [listed.outcome, paid.outcome];
    },
  },
  {
    name: 'cancel a paid order (refund)',
    weight: 6,
    run: (world, customer) => {
      const orderId = customer.paid.splice(Math.floor(world.random() * customer.paid.length), 1)[0];
      if (!orderId) return orderAndPay(world, customer);
      return outcomeOf(world, {
        kind: 'orders.cancel',
        procedure: 'orders.cancel',
        input: { orderId },
        ...asCustomer(customer),
      });
    },
  },
  {
    name: 'look at an order',
    weight: 6,
    run: (world, customer) => {
      const orderId = pick(world.random, [...customer.ordersSeen]);
      return outcomeOf(
        world,
        orderId
          ? { kind: 'orders.get', procedure: 'orders.get', input: { orderId }, ...asCustomer(customer) }
          : { kind: 'orders.list', procedure: 'orders.list', input: { limit: 10 }, ...asCustomer(customer) },
      );
    },
  },
  {
    name: 'list my orders',
    weight: 6,
    run: (world, customer) =>
      outcomeOf(world, {
        kind: 'orders.list',
        procedure: 'orders.list',
        input: { limit: 10, offset: 0 },
        ...asCustomer(customer),
      }),
  },
];
