/**
 * `pnpm build`: the server compiled for production into `server/dist/`.
 *
 * - `main.js`: `server/src/main.ts` and the workspace packages it imports, as ES modules
 *   with source maps; npm packages stay imports, resolved from `server/node_modules`. A module
 *   the server imports with `import()` gets a file of its own beside it (`[name]-[hash].js`,
 *   code shared with `main.js` in another), so the npm packages it imports load only when it
 *   does: in one file they would be hoisted to its top and loaded at start.
 * - `migrations/*.js`: each migration compiled on its own, where the bundled migrator looks
 *   for them (`./migrations` beside `main.js`), because Kysely loads them by file name.
 *
 * Running the compiled file instead of the sources under tsx saves tsx's loader thread (about
 * 35 MB of memory) and the `__name` wrapper its keepNames adds to every named closure.
 */
import { readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OUT_DIR = `${ROOT}server/dist`;
const MIGRATIONS_DIR = `${ROOT}migrations/src/migrations`;

/** Workspace packages export TypeScript sources: compile them into the bundle. */
const bundleWorkspacePackages: Plugin = {
  name: 'workspace-packages',
  setup(builder) {
    builder.onResolve({ filter: /^@orders\/(shared|migrations)$/ }, (args) => ({
      path: `${ROOT}${args.path.slice('@orders/'.length)}/src/index.ts`,
    }));
  },
};

const common = { platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' } as const;

async function buildServer(): Promise<void> {
  rmSync(OUT_DIR, { recursive: true, force: true });
  await build({
    ...common,
    entryPoints: [`${ROOT}server/src/main.ts`],
    outdir: OUT_DIR,
    bundle: true,
    splitting: true,
    packages: 'external',
    plugins: [bundleWorkspacePackages],
    sourcemap: true,
  });
  await build({
    ...common,
    entryPoints: readdirSync(MIGRATIONS_DIR)
      .filter((file) => file.endsWith('.ts'))
      .map((file) => `${MIGRATIONS_DIR}/${file}`),
    outdir: `${OUT_DIR}/migrations`,
  });
}

await buildServer();
process.stdout.write(`built ${OUT_DIR}/main.js\n`);
