import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthSession } from '@orders/shared';
import { insertProducts } from '../test/seed-products.ts';
import { writeReliabilitySection } from '../test/test-results.ts';
import { checkAgreement } from './agreement.ts';
import { startCluster, type Cluster } from './cluster.ts';
import { BACKEND } from './haproxy.ts';
import { register } from './http.ts';
import { answerOf, countBy, failed, startLoad } from './load.ts';

/** Instances leaving and coming back under load, through HAProxy: what clients see, and what the database keeps. */
let cluster: Cluster;
let productId: string;
beforeAll(async () => {
  cluster = await startCluster();
  [productId = ''] = await insertProducts(cluster.db, [{ stock: 1_000_000, price_amount: 300 }]);
});

/** Customers of one test only, so its check of the database sees its own orders. */
const newCustomers = (label: string): Promise<AuthSession[]> =>
  Promise.all(Array.from({ length: 8 }, (_, index) => register(cluster.url, `${label}-${index}@example.com`)));
afterAll(async () => {
  await cluster?.stop();
});

const WORKERS = 12;

describe('instances leaving under load, through HAProxy', () => {
  it('loses no request in a rolling restart: each instance drained in HAProxy, SIGTERMed, replaced', async () => {
    const customers = await newCustomers('rolling');
    const load = startLoad({ url: cluster.url, customers, productId, workers: WORKERS, label: 'rolling' });
    await sleep(1_000);
    const steps: string[] = [];
    for (let index = 0; index < cluster.instances.length; index++) {
      const name = cluster.instances[index]?.name ?? '';
      await cluster.haproxy.command(`set server ${BACKEND}/${name} state drain`);
      await cluster.haproxy.waitForStatus(name, 'DRAIN');
      // Until HAProxy has no connection open to it: the requests it holds are answered.
      for (let waited = 0; waited < 100; waited++) {
        if ((await cluster.haproxy.stats()).find((stat) => stat.name === name)?.current === 0) break;
        await sleep(100);
      }
      await cluster.restart(index, 'SIGTERM');
      await cluster.haproxy.command(`set server ${BACKEND}/${name} state ready`);
      await cluster.haproxy.waitForStatus(name, 'UP');
      steps.push(`${name} drained, SIGTERM, replaced, UP`);
      await sleep(500);
    }
    const sent = await load.stop();
    const failures = sent.filter(failed);
    const agreement = await checkAgreement(cluster.db, sent);
    writeReliabilitySection('cluster', 'rolling_restart', {
      instances: 3,
      steps: steps.length,
      requests: sent.length,
      answers: countBy(sent, answerOf),
      failed: failures.length,
      explained: 0,
      orders_told_paid: agreement.toldPaid,
      orders_in_database: agreement.ordersInDatabase,
      database_agrees: agreement.agrees,
      passed: failures.length === 0 && agreement.agrees,
    });
    expect(countBy(failures, answerOf)).toEqual({});
    expect(sent.length).toBeGreaterThan(100);
    expect(agreement).toMatchObject({ agrees: true, ordersNoClientWasToldOf: 0 });
  });

  it('counts and explains every request that failed when an instance is SIGKILLed mid-load, and the database agrees', async () => {
    const victim = cluster.instances[1];
    if (!victim) throw new Error('no second instance');
    const customers = await newCustomers('killed');
    const errorsBefore = await cluster.haproxy.stats();
    const load = startLoad({ url: cluster.url, customers, productId, workers: WORKERS, label: 'killed' });
    await sleep(1_500);
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    const diedAt = Date.now();
    await cluster.haproxy.waitForStatus(victim.name, 'DOWN');
    const downAt = Date.now();
    await cluster.restart(1, 'SIGKILL');
    await cluster.haproxy.waitForStatus(victim.name, 'UP');
    await sleep(1_000);
    const sent = await load.stop();
    const failures = sent.filter(failed);
    // A failure is explained when the request was in flight as the instance died: sent before
    // it was gone, cut as it died (no answer, or HAProxy's 502 for it). HAProxy's counters say
    // which instance broke them: the killed one, and no other.
    const inFlight = (request: (typeof sent)[number]) =>
      request.startedAt <= diedAt && request.at >= killedAt && (request.status === 0 || request.status === 502);
    const explained = failures.filter(inFlight);
    const errorsAfter = await cluster.haproxy.stats();
    const brokenBy = Object.fromEntries(
      errorsAfter.map((stat) => {
        const before = errorsBefore.find((earlier) => earlier.name === stat.name);
        const broken =
          stat.responseErrors + stat.serverAborts - (before ? before.responseErrors + before.serverAborts : 0);
        return [stat.name, broken];
      }),
    );
    const agreement = await checkAgreement(cluster.db, sent);
    writeReliabilitySection('cluster', 'instance_killed', {
      instances: 3,
      killed: `${victim.name} (SIGKILL), gone after ${diedAt - killedAt} ms, out of HAProxy after ${downAt - killedAt} ms, then replaced`,
      requests: sent.length,
      answers: countBy(sent, answerOf),
      failed: failures.length,
      explained: explained.length,
      explanation: `in flight on ${victim.name} as it died (sent before it was gone, cut by its death); HAProxy's broken responses by instance: ${JSON.stringify(brokenBy)}`,
      failures: failures.map((request) => ({
        kind: request.kind,
        answer: answerOf(request),
        sent_ms_after_kill: request.startedAt - killedAt,
        ended_ms_after_kill: request.at - killedAt,
      })),
      failed_placements: agreement.failedPlacements,
      orders_told_paid: agreement.toldPaid,
      orders_in_database: agreement.ordersInDatabase,
      orders_no_client_was_told_of: agreement.ordersNoClientWasToldOf,
      database_agrees: agreement.agrees,
      passed: explained.length === failures.length && agreement.agrees,
    });
    expect(failures.filter((request) => !inFlight(request))).toEqual([]);
    for (const [name, broken] of Object.entries(brokenBy)) if (name !== victim.name) expect(broken).toBe(0);
    expect(agreement.toldPaidFound).toBe(agreement.toldPaid);
    expect(agreement.agrees).toBe(true);
  });
});
