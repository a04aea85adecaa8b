import { call, type Answer, type CallOptions, type Procedure, type Protocol } from './client.ts';
import type { Customer, Outcome, World } from './world.ts';

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

/** Half the calls go over REST, half over tRPC. */
export function protocolOf(random: () => number): Protocol {
  return random() < 0.5 ? 'rest' : 'trpc';
}

/** One call of the traffic: what it is meant to do (`kind`, a key of EXPECTED) and what it sends. */
export interface TrafficCall extends Omit<CallOptions, 'protocol'> {
  kind: string;
  procedure: Procedure;
  /** Drawn when the call is made where not given. */
  protocol?: Protocol;
}

/** Sent from the customer's address (X-Forwarded-For), signed in or not. */
export const fromAddressOf = (customer: Customer) => ({ headers: { 'x-forwarded-for': customer.ip } });

/** Sent as the signed-in customer, from their address, with any `headers` besides. */
export const asCustomer = (customer: Customer, headers: Record<string, string> = {}) => ({
  token: customer.token,
  headers: { 'x-forwarded-for': customer.ip, ...headers },
});

/** Makes the call and judges its answer against EXPECTED. */
export async function timedCall(
  world: World,
  { kind, procedure, protocol = protocolOf(world.random), ...options }: TrafficCall,
): Promise<{ outcome: Outcome; answer: Answer }> {
  const answer = await call(world.baseUrl, procedure, { protocol, ...options });
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

/** An operation of one call, whose outcome is all it reports. */
export async function outcomeOf(world: World, trafficCall: TrafficCall): Promise<Outcome[]> {
  const { outcome } = await timedCall(world, trafficCall);
  return [outcome];
}
