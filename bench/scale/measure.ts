import pg from 'pg';
import type { Endpoint, ScaleData } from './endpoints.ts';
import type { ScaleApp } from './scale-app.ts';

const WARMUP = 30;
const SAMPLES = Number(process.env.SCALE_SAMPLES ?? 400);

export interface Latency {
  p50: number;
  p99: number;
  samples: number;
  status: number;
  /** Bytes of the body, to show both sizes answered alike. */
  bytes: number;
}

export interface Plan {
  sql: string;
  plan: string;
}

export interface Measured {
  endpoint: string;
  path: string;
  /** One per scale, in the order of the scales. */
  latency: Latency[];
  plans: Plan[][];
}

const round = (ms: number) => Math.round(ms * 100) / 100;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function call({
  app,
  endpoint,
  data,
  base = app.url,
}: {
  app: ScaleApp;
  endpoint: Endpoint;
  data: ScaleData;
  base?: string;
}) {
  const started = performance.now();
  const res = await fetch(`${base}${endpoint.path(data)}`, {
    headers: { authorization: `Bearer ${endpoint.as === 'admin' ? app.tokens.admin : app.tokens.customer}` },
  });
  const body = await res.text();
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`${endpoint.name}: ${res.status} ${body.slice(0, 300)}`);
  return { ms, bytes: body.length, status: res.status };
}

/** p50/p99 at every scale, requests alternating between the scales one by one. */
export async function measureLatency(endpoint: Endpoint, apps: ScaleApp[], data: ScaleData[]): Promise<Latency[]> {
  const samples: number[][] = apps.map(() => []);
  const last: { bytes: number; status: number }[] = apps.map(() => ({ bytes: 0, status: 0 }));
  for (let round = 0; round < WARMUP + SAMPLES; round++) {
    for (const [index, app] of apps.entries()) {
      const result = await call({ app, endpoint, data: data[index] as ScaleData });
      if (round >= WARMUP) samples[index]?.push(result.ms);
      last[index] = result;
    }
  }
  return samples.map((list, index) => {
    const sorted = [...list].sort((a, b) => a - b);
    return {
      p50: round(percentile(sorted, 50)),
      p99: round(percentile(sorted, 99)),
      samples: sorted.length,
      status: last[index]?.status ?? 0,
      bytes: last[index]?.bytes ?? 0,
    };
  });
}

/** EXPLAIN (ANALYZE, BUFFERS) of every query one request of `endpoint` runs. */
export async function explainAll({
  app,
  endpoint,
  data,
  databaseUrl,
}: {
  app: ScaleApp;
  endpoint: Endpoint;
  data: ScaleData;
  databaseUrl: string;
}): Promise<Plan[]> {
  const queries = await app.capture(async () => {
    await call({ app, endpoint, data, base: app.captureUrl });
  });
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const plans: Plan[] = [];
    for (const query of queries) {
      if (!/^\s*select/i.test(query.sql)) continue;
      const result = await client.query<{ 'QUERY PLAN': string }>(
        `explain (analyze, buffers, costs off, timing on) ${query.sql}`,
        [...query.parameters],
      );
      plans.push({ sql: query.sql, plan: result.rows.map((row) => row['QUERY PLAN']).join('\n') });
    }
    return plans;
  } finally {
    await client.end();
  }
}
