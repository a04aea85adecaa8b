import { defineConfig } from 'vitest/config';

/**
 * `pnpm test:cluster`: the service as deployed (PgBouncer, three instances, HAProxy), apart
 * from `pnpm test` so the main suite stays fast. One file at a time: each starts a cluster.
 */
export default defineConfig({
  test: {
    include: ['server/cluster-test/**/*.test.ts'],
    server: { deps: { inline: ['kysely'] } },
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
});
