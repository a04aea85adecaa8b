import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The layering rules of eslint.config.js, each tried on an import planted in a file of the
 * folder it guards. That the real tree keeps them is `pnpm lint`'s part; this checks that the
 * rules would catch a break. Type information plays no part in them, so it is left off (fast).
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT, overrideConfig: tseslint.configs.disableTypeChecked });
});

/** The layering messages ESLint gives `code` as the file `filePath` (relative to the repository). */
async function layeringErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport {};\n`, { filePath: `${ROOT}${filePath}` });
  return (result?.messages ?? [])
    .filter((message) => message.ruleId?.endsWith('no-restricted-imports'))
    .map((message) => message.message);
}

const REFUSED: [file: string, code: string][] = [
  ['server/src/api/planted.ts', "import { callProcedure } from '../transport/procedure-call.ts';"],
  ['server/src/api/v1/planted.ts', "import { createPanel } from '../../transport/docs/panel.ts';"],
  ['server/src/api/v1/planted.ts', "import { createApp } from '../../app.ts';"],
  ['server/src/services/planted.ts', "import { protectedProcedure } from '../api/trpc.ts';"],
  ['server/src/services/orders/planted.ts', "import type { Context } from '../../api/context.ts';"],
  ['server/src/services/planted.ts', "import { createNativeRestHandler } from '../transport/rest/native-handler.ts';"],
  ['server/src/services/planted.ts', "import { TRPCError } from '@trpc/server';"],
  ['server/src/core/planted.ts', "import { listProducts } from '../services/products.ts';"],
  ['server/src/core/db/planted.ts', "import type { Context } from '../../api/context.ts';"],
  ['server/src/core/http/planted.ts', "import { createSwaggerUi } from '../../transport/docs/swagger-ui.ts';"],
  ['server/src/core/planted.ts', "import type { AnyRouter } from '@trpc/server';"],
  ['server/src/core/planted.ts', "import { main } from '../main.ts';"],
  ['server/src/core/errors.ts', "import { TRPCError } from '@trpc/server';"],
  ['server/src/core/errors.ts', "import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';"],
  ['server/src/models/planted.ts', "import type { Db } from '../core/db/database.ts';"],
  ['server/src/models/planted.ts', "import { sql } from 'kysely';"],
  ['shared/src/planted.ts', "import type { AppRouter } from '@orders/server';"],
  ['migrations/src/migrations/planted.ts', "import { newId } from '../../../server/src/core/ids.ts';"],
  ['client/src/planted.ts', "import { appRouter } from '@orders/server';"],
  ['client/src/planted.ts', "import type { appRouter } from '@orders/server';"],
  ['client/src/planted.ts', "import type { Context } from '../../server/src/api/context.ts';"],
];

const ALLOWED: [file: string, code: string][] = [
  ['server/src/app.ts', "import { createNativeRestHandler } from './transport/rest/native-handler.ts';"],
  ['server/src/cli/planted.ts', "import { createOpenApiDocument } from '../transport/docs/openapi.ts';"],
  ['server/src/transport/planted.ts', "import { appRouter } from '../api/router.ts';"],
  [
    'server/src/api/planted.ts',
    "import { TRPCError } from '@trpc/server';\nimport { listProducts } from '../services/products.ts';",
  ],
  [
    'server/src/services/planted.ts',
    "import { AppError } from '../core/errors.ts';\nimport type { Database } from '../models/index.ts';",
  ],
  ['server/src/core/db/planted.ts', "import type { Database } from '../../models/index.ts';"],
  ['server/src/core/planted.test.ts', "import { createApp } from '../app.ts';"],
  ['server/src/models/planted.ts', "import type { ColumnType } from 'kysely';\nexport type * from './orders.ts';"],
  ['client/src/planted.ts', "import type { AppRouter } from '@orders/server';"],
];

describe('the layering rules', () => {
  it.each(REFUSED)('refuse, in %s: %s', async (file, code) => {
    expect(await layeringErrors(file, code)).not.toEqual([]);
  });

  it.each(ALLOWED)('allow, in %s: %s', async (file, code) => {
    expect(await layeringErrors(file, code)).toEqual([]);
  });
});
