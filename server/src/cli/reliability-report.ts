import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { readInputs } from './reliability-report/inputs.ts';
import { renderReport } from './reliability-report/render.ts';

/**
 * `pnpm reliability:report` writes docs/RELIABILITY.md from the figures the test run left in
 * test-results/reliability/*.json and the last soak's docs/reliability/soak-latest.json. A
 * missing file is reported as not measured, never an error.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const target = fileURLToPath(new URL('../../../docs/RELIABILITY.md', import.meta.url));

const inputs = readInputs(ROOT);
const markdown = renderReport(inputs, { generatedAt: new Date().toISOString() });
const formatted = await format(markdown, { ...(await resolveConfig(target)), filepath: target });
writeFileSync(target, formatted);
const missing = Object.values(inputs)
  .filter((input) => input.data === undefined)
  .map((input) => input.file);
process.stdout.write(
  `wrote docs/RELIABILITY.md${missing.length > 0 ? `; not measured in this run: ${missing.join(', ')}` : ''}\n`,
);
