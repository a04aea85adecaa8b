import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertProducts } from '../test/seed-products.ts';
import { writeReliabilitySection } from '../test/test-results.ts';
import { startCluster, type Cluster } from './cluster.ts';
import { errorCode, placeOrder, register, rest, type Answer } from './http.ts';

/**
 * Three instances behind HAProxy, one database through PgBouncer in transaction mode: what one
 * process guarantees must hold across them (stock, idempotency, refresh-token reuse, rate limits).
 */
let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

const statusCounts = (answers: Answer[]) =>
  answers.reduce<Record<string, number>>((counts, answer) => {
    const key = answer.networkError ?? `${answer.status}${errorCode(answer) ? ` ${errorCode(answer)}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
    return counts;
  }, {});

const servedBy = async () => Object.fromEntries((await cluster.haproxy.stats()).map((stat) => [stat.name, stat.total]));

describe('through HAProxy and PgBouncer, three instances', () => {
  it('sells a product with stock 50 exactly 50 times to 200 concurrent orders spread over the instances, with no 5xx', async () => {
    const [productId = ''] = await insertProducts(cluster.db, [{ stock: 50, price_amount: 500 }]);
    const customers = await Promise.all(
      Array.from({ length: 20 }, (_, index) => register(cluster.url, `stock-${index}@example.com`)),
    );
    const before = await servedBy();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        placeOrder(cluster.url, {
          token: customers[index % customers.length]?.accessToken ?? '',
          productId,
          key: `stock-race-${index}`,
        }),
      ),
    );
    const after = await servedBy();
    const perInstance = Object.fromEntries(
      Object.keys(after).map((name) => [name, (after[name] ?? 0) - (before[name] ?? 0)]),
    );
    const counts = statusCounts(answers);
    const paid = await cluster.db
      .selectFrom('orders')
      .innerJoin('order_items', 'order_items.order_id', 'orders.id')
      .where('order_items.product_id', '=', productId)
      .select([
        sql<number>`count(*) filter (where orders.status = 'paid')::int`.as('paid'),
        sql<number>`count(*)::int`.as('all'),
      ])
      .executeTakeFirstOrThrow();
    const stock = await cluster.db
      .selectFrom('products')
      .select('stock')
      .where('id', '=', productId)
      .executeTakeFirstOrThrow();
    const failures = answers.filter((answer) => answer.status >= 500 || answer.status === 0);
    const fiveHundreds = failures.length;
    if (failures.length > 0)
      console.log('failed answers', JSON.stringify(failures.slice(0, 5)), cluster.haproxy.output().slice(-3000));
    writeReliabilitySection('cluster', 'stock_race', {
      instances: 3,
      requests: answers.length,
      answers: counts,
      per_instance: perInstance,
      paid_orders: paid.paid,
      stock_left: stock.stock,
      failed: fiveHundreds,
      passed: paid.paid === 50 && stock.stock === 0 && fiveHundreds === 0,
    });
    expect(counts).toEqual({ '200': 50, '409 OUT_OF_STOCK': 150 });
    expect(paid).toEqual({ paid: 50, all: 50 });
    expect(stock.stock).toBe(0);
    // Round robin: every instance took a share of the race.
    for (const served of Object.values(perInstance)) expect(served).toBeGreaterThan(20);
  });

  it('makes one order of one Idempotency-Key sent to two instances at once, 20 times over', async () => {
    const [productId = ''] = await insertProducts(cluster.db, [{ stock: 1000, price_amount: 700 }]);
    const customer = await register(cluster.url, 'idempotent@example.com');
    const rounds: { same: boolean; statuses: number[] }[] = [];
    for (let round = 0; round < 20; round++) {
      const [first, second] = [cluster.instances[round % 3], cluster.instances[(round + 1) % 3]];
      const key = `two-instances-${round}`;
      const answers = await Promise.all(
        [first, second].map((instance) =>
          placeOrder(instance?.url ?? '', { token: customer.accessToken, productId, key }),
        ),
      );
      rounds.push({
        same: answers[0]?.body?.id === answers[1]?.body?.id,
        statuses: answers.map((answer) => answer.status),
      });
    }
    const orders = await cluster.db
      .selectFrom('orders')
      .select(sql<number>`count(*)::int`.as('count'))
      .where('user_id', '=', customer.user.id)
      .executeTakeFirstOrThrow();
    const sameOrder = rounds.filter((round) => round.same && round.statuses.every((status) => status === 200)).length;
    writeReliabilitySection('cluster', 'idempotency_across_instances', {
      instances: 2,
      rounds: rounds.length,
      requests: rounds.length * 2,
      both_answered_the_same_order: sameOrder,
      orders_in_database: orders.count,
      failed: rounds.length - sameOrder,
      passed: orders.count === 20 && sameOrder === 20,
    });
    expect(orders.count).toBe(20);
    expect(sameOrder).toBe(20);
  });

  it('revokes the whole family when a refresh token is reused on another instance', async () => {
    const [a, b, c] = cluster.instances.map((instance) => instance.url);
    const session = await register(a ?? '', 'refresh-reuse@example.com');
    const rotated = await rest(b ?? '', 'POST /v1/auth/refresh', { body: { refreshToken: session.refreshToken } });
    expect(rotated.status).toBe(200);
    const newRefresh = String(rotated.body?.refreshToken);
    const reused = await rest(c ?? '', 'POST /v1/auth/refresh', { body: { refreshToken: session.refreshToken } });
    const successor = await rest(a ?? '', 'POST /v1/auth/refresh', { body: { refreshToken: newRefresh } });
    const live = await cluster.db
      .selectFrom('refresh_tokens')
      .select(sql<number>`count(*)::int`.as('count'))
      .where('user_id', '=', session.user.id)
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    writeReliabilitySection('cluster', 'refresh_reuse_across_instances', {
      instances: 3,
      requests: 3,
      reuse_answer: reused.status,
      successor_answer: successor.status,
      live_tokens_left: live.count,
      failed: 0,
      passed: reused.status === 401 && successor.status === 401 && live.count === 0,
    });
    expect(reused.status).toBe(401);
    expect(successor.status).toBe(401);
    expect(live.count).toBe(0);
  });

  it('counts login attempts for one email across the instances: the 11th is refused wherever it lands', async () => {
    await register(cluster.url, 'rate-limited@example.com');
    const answers: Answer[] = [];
    for (let attempt = 0; attempt < 15; attempt++) {
      const instance = cluster.instances[attempt % 3];
      answers.push(
        await rest(instance?.url ?? '', 'POST /v1/auth/login', {
          body: { email: 'rate-limited@example.com', password: `wrong-password-${attempt}` },
        }),
      );
    }
    const statuses = answers.map((answer) => answer.status);
    writeReliabilitySection('cluster', 'login_rate_limit_across_instances', {
      instances: 3,
      requests: answers.length,
      answers: statusCounts(answers),
      first_refused_attempt: statuses.indexOf(429) + 1,
      failed: 0,
      passed: statuses.indexOf(429) === 10,
    });
    expect(statuses).toEqual([...Array<number>(10).fill(401), ...Array<number>(5).fill(429)]);
  });
});
