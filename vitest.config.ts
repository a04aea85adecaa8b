import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{server,client,shared,migrations}/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    // Kysely's FileMigrationProvider imports migration files at run time: let vite transform it.
    server: { deps: { inline: ['kysely'] } },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
