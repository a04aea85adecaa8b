/**
 * `pnpm bench:scale`: every read endpoint at 1,000 orders and at 1,000,000 (3,000,000 lines,
 * 100,000 products, 100,000 users), each database fresh and filled set-based; p50/p99 of each
 * endpoint at both sizes (requests alternate between them, so both share the machine's noise)
 * and the plan (EXPLAIN (ANALYZE, BUFFERS)) of every query each one runs. Writes docs/SCALE.md
 * and bench/results/scale-latest.json.
 *
 * DATABASE_URL: the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres).
 * SCALE_ORDERS: the large size (default 1000000; products and users are a tenth of it).
 * SCALE_KEEP=1 keeps both databases and reuses them on the next run (migrating them first).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDatabase } from '../../server/src/core/db/database.ts';
import { migrateToLatest } from '../../server/src/core/db/migrations.ts';
import { createLogger } from '../../server/src/core/logging/logger.ts';
import { DEEP_OFFSET, ENDPOINTS, PAGE, type ScaleData } from './endpoints.ts';
import { addSessions, fill, type Scale } from './fill.ts';
import { explainAll, measureLatency, type Measured } from './measure.ts';
import { renderScaleReport } from './report.ts';
import { startScaleApp, type ScaleApp } from './scale-app.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const LARGE = Number(process.env.SCALE_ORDERS ?? 1_000_000);
const KEEP = process.env.SCALE_KEEP === '1';
const SCALES: Scale[] = [
  { label: '1k', orders: 1_000, products: 100, users: 100 },
  { label: LARGE === 1_000_000 ? '1M' : String(LARGE), orders: LARGE, products: LARGE / 10, users: LARGE / 10 },
];

const log = (line: string) => process.stdout.write(`${line}\n`);

async function prepare(scale: Scale) {
  const name = `orders_scale_${scale.orders}`;
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  const exists = (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  const reuse = KEEP && exists;
  if (!reuse) {
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.query(`create database "${name}"`);
  }
  await admin.end();
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const logger = createLogger({ level: 'error' });
  const database = await createDatabase(
    {
      url: url.toString(),
      pgliteDir: '',
      poolMax: 2,
      statementTimeoutMs: 3_600_000,
      connectTimeoutMs: 5_000,
      logQueries: false,
    },
    logger,
  );
  await migrateToLatest(database.db, logger);
  let timings: Record<string, number> = {};
  if (!reuse) {
    const started = performance.now();
    timings = await fill(database.db, scale);
    log(`${scale.label}: filled in ${Math.round((performance.now() - started) / 1000)} s ${JSON.stringify(timings)}`);
  } else {
    log(`${scale.label}: reusing ${name}`);
  }
  await database.db.deleteFrom('refresh_tokens').where('id', 'like', 'rtk_bench_%').execute();
  const sessions = await addSessions(database.db);
  await database.close();
  return { name, url: url.toString(), sessions, fillMs: timings };
}

async function dataOf(app: ScaleApp): Promise<ScaleData> {
  const headers = { authorization: `Bearer ${app.tokens.customer}` };
  let cursor: string | null = null;
  let firstOrder = '';
  for (let skipped = 0; skipped < DEEP_OFFSET; skipped += PAGE) {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const res = await fetch(`${app.url}/api/v2/orders?limit=${PAGE}${query}`, { headers });
    const page = (await res.json()) as { items: { id: string }[]; nextCursor: string | null };
    firstOrder ||= page.items[0]?.id ?? '';
    cursor = page.nextCursor;
    if (cursor === null) throw new Error('the heavy customer has fewer orders than the deep page needs');
  }
  return { orderId: firstOrder, deepCursor: cursor ?? '' };
}

const prepared = [];
for (const scale of SCALES) prepared.push({ scale, ...(await prepare(scale)) });
const apps = await Promise.all(prepared.map((entry) => startScaleApp(entry.url, entry.sessions)));
const data = await Promise.all(apps.map(dataOf));

const results: Measured[] = [];
for (const endpoint of ENDPOINTS) {
  const latency = await measureLatency(endpoint, apps, data);
  const plans = [];
  for (const [index, app] of apps.entries()) {
    plans.push(
      await explainAll({ app, endpoint, data: data[index] as ScaleData, databaseUrl: prepared[index]?.url ?? '' }),
    );
  }
  results.push({ endpoint: endpoint.name, path: endpoint.path(data[1] as ScaleData), latency, plans });
  const [small, large] = latency;
  log(`${endpoint.name}: p99 ${small?.p99} ms at ${SCALES[0]?.label}, ${large?.p99} ms at ${SCALES[1]?.label}`);
}
for (const app of apps) await app.close();

const run = {
  measured_at: new Date().toISOString(),
  scales: prepared.map(({ scale, fillMs }) => ({ ...scale, fill_ms: fillMs })),
  results,
};
mkdirSync(`${ROOT}bench/results`, { recursive: true });
writeFileSync(`${ROOT}bench/results/scale-latest.json`, `${JSON.stringify(run, null, 2)}\n`);
writeFileSync(`${ROOT}docs/SCALE.md`, await renderScaleReport(run, `${ROOT}docs/SCALE.md`));
log('wrote docs/SCALE.md and bench/results/scale-latest.json');

if (!KEEP) {
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  for (const { name } of prepared) await admin.query(`drop database if exists "${name}" with (force)`);
  await admin.end();
}
