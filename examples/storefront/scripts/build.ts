import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

const SOURCE = join(import.meta.dirname, '..', 'src');

/** The storefront's default output folder (git-ignored). */
export const DIST = join(import.meta.dirname, '..', 'dist');

export interface BuildOptions {
  /** The API's tRPC endpoint the page calls, e.g. `http://127.0.0.1:3000/trpc`. */
  apiUrl: string;
  /** Where index.html and main.js go. */
  outdir?: string;
}

/**
 * Bundles src/main.ts with @orders/client into one minified main.js for the browser and copies
 * index.html beside it. The API's address is fixed at build time, as a frontend's build would.
 */
export async function buildStorefront({ apiUrl, outdir = DIST }: BuildOptions): Promise<{ outdir: string }> {
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: [join(SOURCE, 'main.ts')],
    outfile: join(outdir, 'main.js'),
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    define: { ORDERS_API_URL: JSON.stringify(apiUrl) },
    logLevel: 'warning',
  });
  await copyFile(join(SOURCE, 'index.html'), join(outdir, 'index.html'));
  return { outdir };
}
