import { randomBytes } from 'node:crypto';
import { call, type Answer, type Procedure, type Protocol } from './client.ts';

/** One simulated customer; the soak runs one operation per customer at a time. */
export interface Customer {
  id: string;
  email: string;
  password: string;
  /** Sent as X-Forwarded-For (the server runs with TRUST_PROXY): rate limits apply per customer, as in production. */
  ip: string;
  token: string;
  busy: boolean;
  /** Orders this customer was answered with (200), whatever became of them. */
  ordersSeen: Set<string>;
  /** Declined creates (402): each left one payment_failed order whose id the customer was not given. */
  declines: number;
  paid: string[];
  /** Creates answered 200, to send again with the same Idempotency-Key. */
  created: { key: string; input: Record<string, unknown>; orderId: string }[];
}

export interface World {
  baseUrl: string;
  plentiful: string[];
  /** Products with little stock: orders for them run out, on purpose (409 OUT_OF_STOCK is then expected). */
  scarce: string[];
  customers: Customer[];
  random: () => number;
}

/** One HTTP call the traffic made: `kind` says what it was meant to do. */
export interface Outcome {
  kind: string;
  status: number;
  code: string | undefined;
  ms: number;
  expected: boolean;
  /** Why an answer with an expected status still counts as wrong (a replay with another order, say). */
  wrong?: string;
}

/** The statuses each kind of call may get; anything else counts as an error. */
export const EXPECTED: Record<string, string[]> = {
  'products.list': ['200'],
  'products.get': ['200'],
  'orders.create': ['200'],
  'orders.create declined card': ['402 PAYMENT_DECLINED'],
  'orders.create scarce product': ['200', '409 OUT_OF_STOCK'],
  'orders.create replayed key': ['200'],
  'orders.list': ['200'],
  'orders.get': ['200'],
  'orders.pay': ['200'],
  'orders.cancel': ['200'],
  'auth.register': ['200'],
  'auth.login': ['200'],
  'auth.login wrong password': ['401 INVALID_CREDENTIALS'],
  'auth.me forged token': ['401 UNAUTHORIZED'],
};

export function statusLabel(answer: { status: number; code: string | undefined }): string {
  if (answer.status === 0) return answer.code ?? 'NO_ANSWER';
  return answer.status < 400 ? String(answer.status) : `${answer.status} ${answer.code ?? ''}`.trim();
}

function pick<Item>(random: () => number, items: readonly Item[]): Item | undefined {
  return items[Math.floor(random() * items.length)];
}

function protocolOf(random: () => number): Protocol {
  return random() < 0.5 ? 'rest' : 'trpc';
}

async function timedCall(
  world: World,
  { kind, procedure }: { kind: string; procedure: Procedure },
  options: Parameters<typeof call>[2],
): Promise<{ outcome: Outcome; answer: Answer }> {
  const answer = await call(world.baseUrl, procedure, options);
  const label = statusLabel(answer);
  return {
    outcome: {
      kind,
      status: answer.status,
      code: answer.code,
      ms: answer.ms,
      expected: EXPECTED[kind]?.includes(label) ?? false,
    },
    answer,
  };
}

const asCustomer = (customer: Customer) => ({ token: customer.token, headers: { 'x-forwarded-for': customer.ip } });

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

async function createOrder(
  world: World,
  customer: Customer,
  { kind, input }: { kind: string; input: Record<string, unknown> },
) {
  const key = newKey();
  const { outcome, answer } = await timedCall(
    world,
    { kind, procedure: 'orders.create' },
    {
      protocol: protocolOf(world.random),
      input,
      token: customer.token,
      headers: { 'x-forwarded-for': customer.ip, 'idempotency-key': key },
    },
  );
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

type Operation = (world: World, customer: Customer) => Promise<Outcome[]>;

/** What the traffic does, with how often (weights out of 100). */
export const OPERATIONS: { name: string; weight: number; run: Operation }[] = [
  {
    name: 'browse products',
    weight: 22,
    run: async (world, customer) => {
      const offset = Math.floor(world.random() * 10);
      const { outcome } = await timedCall(
        world,
        { kind: 'products.list', procedure: 'products.list' },
        {
          protocol: protocolOf(world.random),
          input: { limit: 20, offset },
          headers: { 'x-forwarded-for': customer.ip },
        },
      );
      return [outcome];
    },
  },
  {
    name: 'view a product',
    weight: 15,
    run: async (world, customer) => {
      const { outcome } = await timedCall(
        world,
        { kind: 'products.get', procedure: 'products.get' },
        {
          protocol: protocolOf(world.random),
          input: { productId: pick(world.random, [...world.plentiful, ...world.scarce]) ?? '' },
          headers: { 'x-forwarded-for': customer.ip },
        },
      );
      return [outcome];
    },
  },
  {
    name: 'order and pay by card',
    weight: 18,
    run: (world, customer) => createOrder(world, customer, { kind: 'orders.create', input: orderInput(world) }),
  },
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
      if (!earlier) return createOrder(world, customer, { kind: 'orders.create', input: orderInput(world) });
      const { outcome, answer } = await timedCall(
        world,
        { kind: 'orders.create replayed key', procedure: 'orders.create' },
        {
          protocol: protocolOf(world.random),
          input: earlier.input,
          token: customer.token,
          headers: { 'x-forwarded-for': customer.ip, 'idempotency-key': earlier.key },
        },
      );
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
      const listed = await timedCall(
        world,
        { kind: 'orders.list', procedure: 'orders.list' },
        {
          protocol: protocolOf(world.random),
          input: { status: 'payment_failed', limit: 1 },
          ...asCustomer(customer),
        },
      );
      const orderId = (listed.answer.data as { items?: { id: string }[] } | undefined)?.items?.[0]?.id;
      if (!orderId) return [listed.outcome];
      const paid = await timedCall(
        world,
        { kind: 'orders.pay', procedure: 'orders.pay' },
        {
          protocol: protocolOf(world.random),
          input: { orderId, paymentMethod: 'pm_card_mastercard' },
          ...asCustomer(customer),
        },
      );
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
    run: async (world, customer) => {
      const orderId = customer.paid.splice(Math.floor(world.random() * customer.paid.length), 1)[0];
      if (!orderId) return createOrder(world, customer, { kind: 'orders.create', input: orderInput(world) });
      const { outcome } = await timedCall(
        world,
        { kind: 'orders.cancel', procedure: 'orders.cancel' },
        {
          protocol: protocolOf(world.random),
          input: { orderId },
          ...asCustomer(customer),
        },
      );
      return [outcome];
    },
  },
  {
    name: 'look at an order',
    weight: 6,
    run: async (world, customer) => {
      const orderId = pick(world.random, [...customer.ordersSeen]);
      const { outcome } = orderId
        ? await timedCall(
            world,
            { kind: 'orders.get', procedure: 'orders.get' },
            {
              protocol: protocolOf(world.random),
              input: { orderId },
              ...asCustomer(customer),
            },
          )
        : await timedCall(
            world,
            { kind: 'orders.list', procedure: 'orders.list' },
            {
              protocol: protocolOf(world.random),
              input: { limit: 10 },
              ...asCustomer(customer),
            },
          );
      return [outcome];
    },
  },
  {
    name: 'list my orders',
    weight: 6,
    run: async (world, customer) => {
      const { outcome } = await timedCall(
        world,
        { kind: 'orders.list', procedure: 'orders.list' },
        {
          protocol: protocolOf(world.random),
          input: { limit: 10, offset: 0 },
          ...asCustomer(customer),
        },
      );
      return [outcome];
    },
  },
  {
    name: 'sign in',
    weight: 3,
    run: async (world, customer) => {
      const { outcome, answer } = await timedCall(
        world,
        { kind: 'auth.login', procedure: 'auth.login' },
        {
          protocol: protocolOf(world.random),
          input: { email: customer.email, password: customer.password },
          headers: { 'x-forwarded-for': customer.ip },
        },
      );
      const token = (answer.data as { accessToken?: string } | undefined)?.accessToken;
      if (token) customer.token = token;
      return [outcome];
    },
  },
  {
    name: 'sign in with a wrong password',
    weight: 4,
    run: async (world, customer) => {
      const { outcome } = await timedCall(
        world,
        { kind: 'auth.login wrong password', procedure: 'auth.login' },
        {
          protocol: protocolOf(world.random),
          input: { email: customer.email, password: `wrong-${randomBytes(6).toString('hex')}` },
          headers: { 'x-forwarded-for': customer.ip },
        },
      );
      return [outcome];
    },
  },
  {
    name: 'call with a forged token',
    weight: 4,
    run: async (world, customer) => {
      const [header = '', payload = ''] = customer.token.split('.');
      const { outcome } = await timedCall(
        world,
        { kind: 'auth.me forged token', procedure: 'auth.me' },
        {
          protocol: protocolOf(world.random),
          token: `${header}.${payload}.${randomBytes(32).toString('base64url')}`,
          headers: { 'x-forwarded-for': customer.ip },
        },
      );
      return [outcome];
    },
  },
  {
    name: 'register',
    weight: 2,
    run: async (world, customer) => {
      const { outcome } = await timedCall(
        world,
        { kind: 'auth.register', procedure: 'auth.register' },
        {
          protocol: protocolOf(world.random),
          input: {
            email: `soak-new-${randomBytes(6).toString('hex')}@example.com`,
            password: `soak-password-${randomBytes(8).toString('hex')}`,
            name: 'Soak newcomer',
          },
          headers: { 'x-forwarded-for': customer.ip },
        },
      );
      return [outcome];
    },
  },
];

/** Picks an operation by weight. */
export function pickOperation(random: () => number): (typeof OPERATIONS)[number] {
  const total = OPERATIONS.reduce((sum, operation) => sum + operation.weight, 0);
  let roll = random() * total;
  for (const operation of OPERATIONS) {
    roll -= operation.weight;
    if (roll < 0) return operation;
  }
  return OPERATIONS[0] as (typeof OPERATIONS)[number];
}
