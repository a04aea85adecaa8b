import type { AuthSession } from '@orders/shared';
import { errorCode, placeOrder, rest, type Answer } from './http.ts';

/** One request of the load and what its client was told. */
export interface Sent {
  kind: 'list_products' | 'get_order' | 'create_order';
  userId: string;
  /** The Idempotency-Key of an order placed. */
  key?: string;
  status: number;
  code: string | undefined;
  networkError: string | undefined;
  orderId: string | undefined;
  /** When it was sent and when its answer (or error) came, epoch ms. */
  startedAt: number;
  at: number;
}

export interface Load {
  sent: Sent[];
  stop(): Promise<Sent[]>;
}

/** A request failed when no answer came back, or the answer was a 5xx. */
export const failed = (sent: Sent) => sent.status === 0 || sent.status >= 500;

/**
 * `workers` clients in a loop through `url` until stopped, each in turn listing products,
 * reading one of its orders and placing an order (a fresh Idempotency-Key each time).
 */
export function startLoad({
  url,
  customers,
  productId,
  workers,
  label,
}: {
  url: string;
  customers: AuthSession[];
  productId: string;
  workers: number;
  label: string;
}): Load {
  const sent: Sent[] = [];
  let running = true;
  const record = (
    base: Omit<Sent, 'status' | 'code' | 'networkError' | 'orderId' | 'at' | 'startedAt'>,
    startedAt: number,
    answer: Answer,
  ) => {
    const orderId = base.kind === 'create_order' && answer.status === 200 ? String(answer.body?.id) : undefined;
    sent.push({
      ...base,
      status: answer.status,
      code: errorCode(answer),
      networkError: answer.networkError,
      orderId,
      startedAt,
      at: Date.now(),
    });
    return orderId;
  };
  const worker = async (index: number) => {
    const customer = customers[index % customers.length];
    if (!customer) throw new Error('no customer for the load');
    const token = customer.accessToken;
    const userId = customer.user.id;
    let lastOrder: string | undefined;
    for (let step = 0; running; step++) {
      const kind = (['list_products', 'get_order', 'create_order'] as const)[step % 3] ?? 'list_products';
      const startedAt = Date.now();
      if (kind === 'list_products') {
        record({ kind, userId }, startedAt, await rest(url, 'GET /v1/products?limit=20', { token }));
      } else if (kind === 'get_order' && lastOrder !== undefined) {
        record({ kind, userId }, startedAt, await rest(url, `GET /v1/orders/${lastOrder}`, { token }));
      } else if (kind === 'create_order') {
        const key = `${label}-${index}-${step}`;
        const answer = await placeOrder(url, { token, productId, key });
        lastOrder = record({ kind, userId, key }, startedAt, answer) ?? lastOrder;
      }
    }
  };
  const all = Promise.all(Array.from({ length: workers }, (_, index) => worker(index)));
  return {
    sent,
    stop: async () => {
      running = false;
      await all;
      return sent;
    },
  };
}

export function countBy<Item>(items: Item[], keyOf: (item: Item) => string): Record<string, number> {
  return items.reduce<Record<string, number>>((counts, item) => {
    const key = keyOf(item);
    counts[key] = (counts[key] ?? 0) + 1;
    return counts;
  }, {});
}

export const answerOf = (sent: Sent) =>
  sent.networkError ?? `${sent.status}${sent.code === undefined ? '' : ` ${sent.code}`}`;
