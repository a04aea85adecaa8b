import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MIGRATIONS_FOLDER } from './index.ts';

/** `pnpm db:new add_orders` writes `migrations/src/migrations/<UTC timestamp>_add_orders.ts`. */
const name = process.argv[2];
if (!name || !/^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(name)) {
  process.stderr.write('usage: pnpm db:new verb_noun   (snake_case, e.g. create_orders, add_users_role)\n');
  process.exit(2);
}
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const file = path.join(MIGRATIONS_FOLDER, `${stamp}_${name}.ts`);
if (existsSync(file)) {
  process.stderr.write(`${file} exists already\n`);
  process.exit(1);
}
writeFileSync(
  file,
  `import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  throw new Error('${name}: up() is not written yet');
}

export async function down(db: Kysely<any>): Promise<void> {
  throw new Error('${name}: down() is not written yet');
}
`,
);
process.stdout.write(`created ${path.relative(process.cwd(), file)}\n`);
