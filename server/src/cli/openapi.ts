import { readFileSync, writeFileSync } from 'node:fs';
import packageJson from '../../package.json' with { type: 'json' };
import { createOpenApiDocument } from '../api/openapi.ts';
import { appRouter } from '../api/router.ts';

/** `pnpm openapi` writes the committed openapi.json; `--check` fails when it is stale. */
const target = new URL('../../../openapi.json', import.meta.url);
const document = `${JSON.stringify(createOpenApiDocument(appRouter, packageJson.version), null, 2)}\n`;

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {
    // No committed document yet: it is stale by definition.
  }
  if (committed !== document) {
    process.stderr.write('openapi.json is stale: run `pnpm openapi` and commit the result.\n');
    process.exit(1);
  }
  process.stdout.write('openapi.json is up to date\n');
} else {
  writeFileSync(target, document);
  process.stdout.write(`wrote ${target.pathname}\n`);
}
