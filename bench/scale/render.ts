/** Rewrites docs/SCALE.md from bench/results/scale-latest.json, the last `pnpm bench:scale` run, without measuring again. */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderScaleReport } from './report.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = JSON.parse(readFileSync(`${ROOT}bench/results/scale-latest.json`, 'utf8')) as Parameters<
  typeof renderScaleReport
>[0];
writeFileSync(`${ROOT}docs/SCALE.md`, await renderScaleReport(run, `${ROOT}docs/SCALE.md`));
process.stdout.write('wrote docs/SCALE.md\n');
