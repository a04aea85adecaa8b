import { buildStorefront } from './build.ts';
import { serveStorefront } from './serve.ts';

/**
 * `pnpm --filter @orders/storefront-example start`: builds the page for the API at ORDERS_API_URL
 * and serves it on STOREFRONT_PORT. The API must list this page's origin in CORS_ORIGINS.
 */
const apiUrl = process.env.ORDERS_API_URL ?? 'http://127.0.0.1:3000/trpc';
const port = Number(process.env.STOREFRONT_PORT ?? 5173);

const { outdir } = await buildStorefront({ apiUrl });
const { origin } = await serveStorefront({ dir: outdir, port });
process.stdout.write(
  [
    `storefront: ${origin} (calls ${apiUrl})`,
    `start the API with this origin allowed: CORS_ORIGINS=${origin} pnpm start`,
    '',
  ].join('\n'),
);
