import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{server,client,shared,migrations}/**/*.test.ts'],
    // server/cluster-test runs apart, with `pnpm test:cluster` (vitest.cluster.config.ts).
    exclude: ['**/node_modules/**', 'server/cluster-test/**'],
    // Kysely's FileMigrationProvider imports migration files at run time: let vite transform it.
    server: { deps: { inline: ['kysely'] } },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Every log line and secret of the run is recorded (setup), then audited once all files
    // have finished (global teardown); the audit fails the run if a secret reached a log.
    setupFiles: ['server/test/log-audit/setup.ts'],
    globalSetup: ['server/test/log-audit/global-setup.ts'],
    // The audit reads every line the suite wrote: give it time (past this vitest stops waiting,
    // and the run fails: the audit sets a failing exit code until it has passed).
    teardownTimeout: 120_000,
    reporters: ['default'],
  },
});
