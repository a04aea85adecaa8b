import { format, resolveConfig } from 'prettier';
import type { Scale } from './fill.ts';
import type { Measured } from './measure.ts';

export const TARGET_RATIO = 2;

interface Run {
  measured_at: string;
  scales: (Scale & { fill_ms: Record<string, number> })[];
  results: Measured[];
}

const count = (n: number) => n.toLocaleString('en-US');

/** Whether an endpoint's p99 at the large size is within TARGET_RATIO of its p99 at the small one. */
export function meetsTarget(result: Measured): { ratio: number; met: boolean } {
  const [small, large] = result.latency;
  const ratio = small && large ? Math.round((large.p99 / small.p99) * 100) / 100 : Number.NaN;
  return { ratio, met: ratio <= TARGET_RATIO };
}

/** The p50 ratio, which the machine's noise hides less than the p99's. */
function p50Ratio(result: Measured): number {
  const [small, large] = result.latency;
  return small && large ? Math.round((large.p50 / small.p50) * 100) / 100 : Number.NaN;
}

/** What still grows: the endpoints whose p50 rose by more than half, and why such costs grow. */
function growing(results: Measured[]): string[] {
  const grown = results.filter((result) => p50Ratio(result) > 1.5);
  if (grown.length === 0) return [];
  return [
    '## Where cost still grows',
    '',
    `On this shared machine the p99 is mostly noise, which the p50 shows less: it rose by more ` +
      `than half for: ${grown.map((result) => `${result.endpoint} (${p50Ratio(result)}x)`).join(', ')}. The causes, as ` +
      'the plans below show them:',
    '',
    '- A search matches candidates by trigram, then rechecks them. A pattern made of common trigrams (`SKU-0000042`, ' +
      '`user42@`: every SKU and every email share most of them) leaves more candidates to recheck as the table grows ' +
      '(`Rows Removed by Index Recheck`), though far fewer than the table.',
    '- An offset page still steps over its offset, now in a partial index alone (`Index Only Scan`, no heap): page ' +
      '1,000 costs 20,000 index entries at 1M and nothing at 1k, where it is past the end. `v2` keyset pages do not.',
    '',
  ];
}

export async function renderScaleReport(run: Run, filepath: string): Promise<string> {
  const [small, large] = run.scales;
  if (!small || !large) throw new Error('two scales expected');
  const met = run.results.filter((result) => meetsTarget(result).met).length;
  const fill = Object.entries(large.fill_ms)
    .map(([step, ms]) => `${step} ${count(Math.round(ms / 100) / 10)} s`)
    .join(', ');
  const lines = [
    '# Scale',
    '',
    '<!-- Written by `pnpm bench:scale`: do not edit by hand. -->',
    '',
    `Every read endpoint at ${count(small.orders)} orders and at ${count(large.orders)} orders ` +
      `(${count(large.orders * 3)} order lines, ${count(large.products)} products, ${count(large.users)} users), ` +
      `measured ${run.measured_at}. Target: each endpoint's p99 at ${count(large.orders)} orders within ` +
      `${TARGET_RATIO}x of its p99 at ${count(small.orders)}. **${met} of ${run.results.length} endpoints meet it.**`,
    '',
    `Each database is fresh, migrated and filled set-based (one \`INSERT ... SELECT FROM generate_series\` per table, ` +
      `then \`VACUUM ANALYZE\`); the large fill took ${fill}. The small one has ${count(small.products)} products and ` +
      `${count(small.users)} users. The customer whose orders are listed has the same ${count(200)} orders at both ` +
      'sizes (a deep page is its last one); the searches look for product 42 and user 42, present at both. ' +
      'Latency is a whole HTTP request on the loopback, one at a time, alternating between the two sizes so both share the ' +
      "machine's noise (a shared 2-core machine: compare the columns, not the absolute figures).",
    '',
    `| endpoint | p50 ${small.label} | p99 ${small.label} | p50 ${large.label} | p99 ${large.label} | p50 ratio | p99 ratio | p99 within ${TARGET_RATIO}x |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...run.results.map((result) => {
      const [a, b] = result.latency;
      const { ratio, met: ok } = meetsTarget(result);
      return `| ${result.endpoint} | ${a?.p50} ms | ${a?.p99} ms | ${b?.p50} ms | ${b?.p99} ms | ${p50Ratio(result)} | ${ratio} | ${ok ? 'yes' : '**no**'} |`;
    }),
    '',
    ...growing(run.results),
    '## What keeps them flat',
    '',
    "- Lists page by an index in their order: products and users by `(created_at, id)`, a customer's orders by " +
      '`(user_id, created_at, id)`; v2 pages by keyset (`(created_at, id) < cursor`), so a deep page costs what the first does.',
    '- Unfiltered totals come from `table_counts`, kept by triggers, not from `count(*)` over the table.',
    "- Searches (`q`, `ILIKE '%text%'` on name and SKU, email and name) use trigram (`pg_trgm`) GIN indexes.",
    '',
    '## Plans',
    '',
    `\`EXPLAIN (ANALYZE, BUFFERS)\` of every statement each endpoint runs (authentication's included), at both sizes.`,
    '',
  ];
  for (const result of run.results) {
    lines.push(`### ${result.endpoint}`, '', `\`GET ${result.path}\``, '');
    for (const [index, scale] of run.scales.entries()) {
      lines.push(`<details><summary>${scale.label}: ${result.plans[index]?.length ?? 0} statements</summary>`, '');
      for (const plan of result.plans[index] ?? []) {
        lines.push('```sql', plan.sql, '```', '', '```', plan.plan, '```', '');
      }
      lines.push('</details>', '');
    }
  }
  lines.push(
    '## How to reproduce',
    '',
    '```sh',
    'DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres pnpm bench:scale',
    '# quicker, smaller: SCALE_ORDERS=100000; SCALE_KEEP=1 keeps the databases for the next run',
    '```',
    '',
  );
  return format(lines.join('\n'), { ...(await resolveConfig(filepath)), filepath });
}
