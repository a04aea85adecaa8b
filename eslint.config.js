import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/*
 * The layering, enforced: dependencies point one way, transport -> api -> services -> core ->
 * models (the README's architecture section draws it). A layer imports the ones below it and
 * never one above; nothing imports transport/ but the entry (app.ts, main.ts, cli/), tests and
 * bench. A relative import is matched by the folders it names.
 */
const relativeInto = (folder) => `^\\.\\.?/(?:.+/)?${folder}/`;
const ARROWS = 'dependencies point transport -> api -> services -> core -> models';
const NOT = {
  transport: {
    regex: relativeInto('transport'),
    message: `Only the entry (app.ts, main.ts, cli/), tests and bench import transport/: ${ARROWS}.`,
  },
  entry: {
    regex: '^\\.\\.?/(?:.+/)?(?:app|main)\\.ts$',
    message: `app.ts and main.ts are the entry, which imports every layer: ${ARROWS}.`,
  },
  api: { regex: relativeInto('api'), message: `api/ (the procedures) is above this layer: ${ARROWS}.` },
  services: { regex: relativeInto('services'), message: `services/ is above this layer: ${ARROWS}.` },
  core: { regex: relativeInto('core'), message: `core/ is above models/, which are types only: ${ARROWS}.` },
  trpc: { regex: '^@trpc/', message: 'Services and core know nothing of tRPC: api/ and transport/ speak it.' },
  packageValues: {
    regex: '^[^.]',
    allowTypeImports: true,
    message: 'models/ are types only: import packages with `import type`.',
  },
  server: {
    regex: '^@orders/server(?:/|$)|^\\.\\.?/(?:.+/)?server/',
    message: 'shared/ and migrations/ stand below the server and never import it.',
  },
};
const CLIENT_IMPORT = "The client imports one thing of the server: `import type { AppRouter } from '@orders/server'`.";

/** No import matching `restricted` in the non-test files of `files` (a test may start the whole app). */
const layer = (files, restricted) => ({
  files,
  ignores: ['**/*.test.ts'],
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: restricted }] },
});

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.data/**',
      'coverage/**',
      'bench/results/**',
      'bench/tmp/**',
      'test-results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'max-params': ['error', 3],
    },
  },
  {
    files: ['server/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // Migrations are frozen in time and speak to any schema: Kysely<any> is their contract.
    files: ['migrations/src/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The consumer fixture calls what must not compile, under @ts-expect-error: those calls are untyped by design.
    files: ['client/test/consumer/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  layer(['server/src/api/**/*.ts'], [NOT.transport, NOT.entry]),
  layer(['server/src/services/**/*.ts'], [NOT.transport, NOT.entry, NOT.api, NOT.trpc]),
  layer(['server/src/core/**/*.ts'], [NOT.transport, NOT.entry, NOT.api, NOT.services, NOT.trpc]),
  layer(['server/src/models/**/*.ts'], [NOT.transport, NOT.entry, NOT.api, NOT.services, NOT.core, NOT.packageValues]),
  layer(['shared/src/**/*.ts', 'migrations/src/**/*.ts'], [NOT.server]),
  {
    files: ['client/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      // ESLint's own rule holds the name (AppRouter), typescript-eslint's the kind (`import type`).
      'no-restricted-imports': [
        'error',
        { paths: [{ name: '@orders/server', allowImportNames: ['AppRouter'], message: CLIENT_IMPORT }] },
      ],
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@orders/server', allowTypeImports: true, message: CLIENT_IMPORT }],
          patterns: [{ regex: '^@orders/server/|^\\.\\.?/(?:.+/)?server/', message: CLIENT_IMPORT }],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
