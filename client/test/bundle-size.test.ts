import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/** A page that only calls the API must not ship the zod schemas (`@orders/client/schemas`). */
const MAX_GZIPPED_BYTES = 15 * 1024;
const consumer = fileURLToPath(new URL('./consumer', import.meta.url));

/** Bundles `source` as a browser page would (minified ESM), resolving packages as the consumer fixture does. */
async function bundle(source: string): Promise<string> {
  const result = await build({
    stdin: { contents: source, resolveDir: consumer, loader: 'ts', sourcefile: 'page.ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild wrote nothing');
  return output.text;
}

describe('the bundle of a page that uses @orders/client', () => {
  it(`is at most ${MAX_GZIPPED_BYTES / 1024} KB gzipped when it imports createOrdersClient`, async () => {
    const code = await bundle(
      "import { createOrdersClient } from '@orders/client'; export const client = createOrdersClient({ url: '/trpc' });",
    );
    const gzipped = gzipSync(code).length;
    expect(gzipped, `${code.length} bytes minified, ${gzipped} gzipped`).toBeLessThanOrEqual(MAX_GZIPPED_BYTES);
    // The client is in it; zod is not.
    expect(code).toContain('x-request-id');
    expect(code).not.toContain('ZodError');
  }, 60_000);

  it('takes zod along only when the page imports the schemas', async () => {
    const code = await bundle(
      "import { CreateOrderInputSchema } from '@orders/client/schemas'; export const ok = CreateOrderInputSchema.safeParse({}).success;",
    );
    expect(code).toContain('ZodError');
  }, 60_000);
});
