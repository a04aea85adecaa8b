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

/** Something a customer does: one or more calls, and what each got. */
export interface Operation {
  name: string;
  /** How often, against the other operations' weights (they add up to 100). */
  weight: number;
  run: (world: World, customer: Customer) => Promise<Outcome[]>;
}
