/**
 * `pnpm test:soak`: the server as production runs it, under mixed traffic at a fixed rate for
 * a few minutes, then a consistency check of stock, orders and payments. Not part of
 * `pnpm test` or CI (it takes minutes and loads the machine); its figures are kept in
 * docs/reliability/soak-latest.json for the reliability report.
 *
 * Needs DATABASE_URL (real PostgreSQL): a fresh database is created beside it and dropped after.
 * Env: SOAK_SECONDS (300), SOAK_RATE (operations per second, 20), SOAK_CUSTOMERS
 * (1.5 x rate, at least 40), SOAK_GATEWAY_LATENCY_MS (20), SOAK_SEED (1).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { checkOrderConsistency } from '../test/order-consistency.ts';
import { call } from './client.ts';
import { createSoakDatabase, type SoakDatabase } from './database.ts';
import { readLogFile } from './log-file.ts';
import { residentMiB, startServerProcess, type ServerProcess } from './server-process.ts';
import { downsample, latencySummary, round, seededRandom, slope } from './stats.ts';
import { pickOperation } from './operations.ts';
import { EXPECTED, statusLabel } from './timed-call.ts';
import type { Customer, Outcome, World } from './world.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const RATE = Number(process.env.SOAK_RATE ?? 20);
const CUSTOMERS = Number(process.env.SOAK_CUSTOMERS ?? Math.max(40, Math.ceil(RATE * 1.5)));
const GATEWAY_LATENCY_MS = Number(process.env.SOAK_GATEWAY_LATENCY_MS ?? 20);
const SEED = Number(process.env.SOAK_SEED ?? 1);
/** The first part of the run, when RSS still grows as code warms up and pools fill. */
const WARMUP_SECONDS = Math.max(10, Math.round(SECONDS * 0.1));
const PLENTIFUL_PRODUCTS = 12;
const SCARCE_PRODUCTS = 2;
const SCARCE_STOCK = 25;

function log(message: string): void {
  process.stdout.write(`soak: ${message}\n`);
}

async function registerCustomers(baseUrl: string, count: number): Promise<Customer[]> {
  const customers: Customer[] = [];
  for (let index = 0; index < count; index++) {
    const email = `soak-${index}-${randomBytes(4).toString('hex')}@example.com`;
    const password = `soak-password-${randomBytes(8).toString('hex')}`;
    const ip = `10.77.${Math.floor(index / 250)}.${(index % 250) + 1}`;
    const answer = await call<{ user: { id: string }; accessToken: string }>(baseUrl, 'auth.register', {
      protocol: 'rest',
      input: { email, password, name: `Soak customer ${index}` },
      headers: { 'x-forwarded-for': ip },
    });
    if (answer.status !== 200) throw new Error(`registering a customer failed: ${statusLabel(answer)}`);
    customers.push({
      id: answer.data.user.id,
      email,
      password,
      ip,
      token: answer.data.accessToken,
      busy: false,
      ordersSeen: new Set(),
      declines: 0,
      paid: [],
      created: [],
    });
  }
  return customers;
}

/** Every order a customer was answered with exists as theirs, and they have no order they cannot account for. */
async function clientViewProblems(database: SoakDatabase, customers: Customer[]): Promise<string[]> {
  const problems: string[] = [];
  for (const customer of customers) {
    const rows = await database.db.selectFrom('orders').select('id').where('user_id', '=', customer.id).execute();
    const ids = new Set(rows.map((row) => row.id));
    for (const id of customer.ordersSeen) if (!ids.has(id)) problems.push(`order ${id} was answered but is missing`);
    const expected = customer.ordersSeen.size + customer.declines;
    if (rows.length !== expected) {
      problems.push(`customer ${customer.id} has ${rows.length} orders; answers account for ${expected}`);
    }
  }
  return problems;
}

interface Traffic {
  outcomes: (Outcome & { at: number })[];
  launched: number;
  skippedBusy: number;
  rss: [number, number][];
  seconds: number;
}

/** Launches one operation every 1/RATE s (open loop: a slow answer does not slow the rate), for SECONDS. */
async function drive(world: World, server: ServerProcess): Promise<Traffic> {
  const traffic: Traffic = { outcomes: [], launched: 0, skippedBusy: 0, rss: [], seconds: 0 };
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const sampleRss = () => {
    const mib = residentMiB(server.pid);
    if (mib !== undefined) traffic.rss.push([round(elapsed()), round(mib)]);
  };
  sampleRss();
  const sampler = setInterval(sampleRss, 1_000);
  let nextReport = 30;
  const inFlight = new Set<Promise<void>>();
  for (;;) {
    const now = elapsed();
    if (now >= SECONDS) break;
    if (now >= nextReport) {
      const unexpected = traffic.outcomes.filter((outcome) => !outcome.expected || outcome.wrong).length;
      log(
        `${Math.round(now)} s: ${traffic.outcomes.length} requests, ${unexpected} unexpected, RSS ${traffic.rss.at(-1)?.[1] ?? '?'} MiB`,
      );
      nextReport += 30;
    }
    const due = traffic.launched / RATE;
    if (due > now) {
      await sleep((due - now) * 1000);
      continue;
    }
    traffic.launched += 1;
    const operation = pickOperation(world.random);
    const free = world.customers.filter((customer) => !customer.busy);
    const customer = free[Math.floor(world.random() * free.length)];
    if (!customer) {
      traffic.skippedBusy += 1;
      continue;
    }
    customer.busy = true;
    const at = now;
    const running: Promise<void> = operation
      .run(world, customer)
      .then((outcomes) => {
        for (const outcome of outcomes) traffic.outcomes.push({ ...outcome, at });
      })
      .catch((error: unknown) => {
        const code = error instanceof Error ? error.message : String(error);
        traffic.outcomes.push({ kind: operation.name, status: 0, code, ms: 0, expected: false, at });
      })
      .finally(() => {
        customer.busy = false;
        inFlight.delete(running);
      });
    inFlight.add(running);
  }
  await Promise.all(inFlight);
  traffic.seconds = elapsed();
  sampleRss();
  clearInterval(sampler);
  return traffic;
}

function summarize(traffic: Traffic) {
  const byKind: Record<
    string,
    {
      count: number;
      statuses: Record<string, number>;
      unexpected: number;
      latency_ms: ReturnType<typeof latencySummary>;
    }
  > = {};
  const statuses: Record<string, number> = {};
  const unexpected: { kind: string; status: string; wrong?: string }[] = [];
  const times = new Map<string, number[]>();
  for (const outcome of traffic.outcomes) {
    const label = statusLabel(outcome);
    const entry = (byKind[outcome.kind] ??= { count: 0, statuses: {}, unexpected: 0, latency_ms: latencySummary([]) });
    entry.count += 1;
    entry.statuses[label] = (entry.statuses[label] ?? 0) + 1;
    statuses[label] = (statuses[label] ?? 0) + 1;
    if (!outcome.expected || outcome.wrong) {
      entry.unexpected += 1;
      unexpected.push({ kind: outcome.kind, status: label, ...(outcome.wrong ? { wrong: outcome.wrong } : {}) });
    }
    const list = times.get(outcome.kind) ?? [];
    list.push(outcome.ms);
    times.set(outcome.kind, list);
  }
  for (const [kind, list] of times) {
    const entry = byKind[kind];
    if (entry) entry.latency_ms = latencySummary(list);
  }
  // Refusals the traffic provokes on purpose, and gets: not errors.
  const deliberate: Record<string, number> = {};
  for (const outcome of traffic.outcomes) {
    const label = statusLabel(outcome);
    if (outcome.expected && outcome.status >= 400)
      deliberate[`${outcome.kind}: ${label}`] = (deliberate[`${outcome.kind}: ${label}`] ?? 0) + 1;
  }
  return { byKind, statuses, unexpected, deliberate };
}

function rssSummary(samples: [number, number][]) {
  const values = samples.map(([, mib]) => mib);
  const afterWarmup = samples.filter(([seconds]) => seconds >= WARMUP_SECONDS);
  const start = values[0] ?? 0;
  const end = values.at(-1) ?? 0;
  const warm = afterWarmup[0]?.[1] ?? start;
  return {
    start,
    end,
    peak: Math.max(0, ...values),
    growth: round(end - start),
    warmup_seconds: WARMUP_SECONDS,
    after_warmup: warm,
    growth_after_warmup: round(end - warm),
    trend_mib_per_minute_after_warmup: round(slope(afterWarmup) * 60, 2),
    samples: downsample(samples, 60),
  };
}

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    process.stderr.write(
      'pnpm test:soak needs DATABASE_URL (a PostgreSQL server; a fresh database is made beside it)\n',
    );
    process.exit(2);
  }
  const folder = mkdtempSync(join(tmpdir(), 'orders-soak-'));
  const logFile = join(folder, 'server.log');
  const database = await createSoakDatabase(serverUrl, {
    plentiful: PLENTIFUL_PRODUCTS,
    scarce: SCARCE_PRODUCTS,
    scarceStock: SCARCE_STOCK,
  });
  let server: ServerProcess | undefined;
  try {
    server = await startServerProcess({
      NODE_ENV: 'production',
      DATABASE_URL: database.url,
      MIGRATE_ON_START: 'false',
      LOG_LEVEL: 'info',
      LOG_FILE: logFile,
      JWT_SECRET: randomBytes(48).toString('hex'),
      TRUST_PROXY: '1',
      WEB_CONCURRENCY: '1',
      PAYMENT_GATEWAY_LATENCY_MS: String(GATEWAY_LATENCY_MS),
    });
    log(`server ${server.pid} at ${server.url}; registering ${CUSTOMERS} customers`);
    const world: World = {
      baseUrl: server.url,
      plentiful: database.plentiful,
      scarce: database.scarce,
      customers: await registerCustomers(server.url, CUSTOMERS),
      random: seededRandom(SEED),
    };
    log(`driving ${RATE} operations/s for ${SECONDS} s`);
    const traffic = await drive(world, server);
    const { byKind, statuses, unexpected, deliberate } = summarize(traffic);
    const consistency = await checkOrderConsistency(database.db, { initialStock: database.initialStock });
    const clientView = await clientViewProblems(database, world.customers);
    const exitCode = await server.stop(15_000);
    const serverLog = readLogFile(logFile);
    const total = traffic.outcomes.length;
    const report = {
      measured_at: new Date().toISOString(),
      config: {
        seconds: SECONDS,
        rate_per_second: RATE,
        customers: CUSTOMERS,
        gateway_latency_ms: GATEWAY_LATENCY_MS,
        seed: SEED,
        node: process.version,
        server: 'NODE_ENV=production, one process, PostgreSQL, LOG_LEVEL=info with LOG_FILE',
      },
      operations: { launched: traffic.launched, skipped_all_customers_busy: traffic.skippedBusy },
      requests: {
        total,
        per_second: round(total / traffic.seconds),
        by_kind: byKind,
        statuses,
        expected_statuses: EXPECTED,
        expected_refusals: deliberate,
        expected_refusals_note:
          'The traffic provokes these on purpose: declined cards (402), orders for products with little stock (409 once sold out), wrong passwords and forged tokens (401). They are the answers the contract promises, not errors.',
        unexpected: unexpected.length,
        error_rate: total === 0 ? 0 : round(unexpected.length / total, 6),
        unexpected_examples: unexpected.slice(0, 10),
      },
      latency_ms: latencySummary(traffic.outcomes.map((outcome) => outcome.ms)),
      rss_mib: rssSummary(traffic.rss),
      consistency: {
        products_checked: consistency.productsChecked,
        orders_checked: consistency.ordersChecked,
        payments_checked: consistency.paymentsChecked,
        problems: [...consistency.problems, ...clientView],
        rules:
          'stock + quantities held by pending_payment and paid orders = initial stock, for every product; no negative stock; every paid order has one succeeded payment of its total, refunded ones a refunded payment; every Idempotency-Key names one order and no order has two; every order a customer was answered with exists, and each customer has exactly the orders its answers account for',
      },
      server: { exit_code: exitCode, ...serverLog },
    };
    mkdirSync(join(ROOT, 'test-results/reliability'), { recursive: true });
    mkdirSync(join(ROOT, 'docs/reliability'), { recursive: true });
    // Formatted as the repository formats JSON: the copy in docs/ is committed.
    const committed = join(ROOT, 'docs/reliability/soak-latest.json');
    const json = await format(JSON.stringify(report), { ...(await resolveConfig(committed)), filepath: committed });
    writeFileSync(join(ROOT, 'test-results/reliability/soak.json'), json);
    writeFileSync(committed, json);
    log(
      `${total} requests (${report.requests.per_second}/s), ${unexpected.length} unexpected (error rate ${report.requests.error_rate}), ` +
        `p50 ${report.latency_ms.p50} ms, p99 ${report.latency_ms.p99} ms; RSS ${report.rss_mib.start} -> ${report.rss_mib.end} MiB ` +
        `(peak ${report.rss_mib.peak}, ${report.rss_mib.growth_after_warmup} after warm-up); ` +
        `${report.consistency.orders_checked} orders checked, ${report.consistency.problems.length} problems; server exit ${exitCode}`,
    );
    log('written to test-results/reliability/soak.json and docs/reliability/soak-latest.json');
    const failed = unexpected.length > 0 || report.consistency.problems.length > 0 || exitCode !== 0;
    process.exitCode = failed ? 1 : 0;
  } finally {
    if (server && server.child.exitCode === null) await server.stop(5_000);
    await database.drop();
    rmSync(folder, { recursive: true, force: true });
  }
}

await main();
