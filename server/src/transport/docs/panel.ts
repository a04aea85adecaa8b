import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { createStaticFiles } from './static-files.ts';
import type { AppRouter } from '../../api/router.ts';

const require = createRequire(import.meta.url);
const MONACO_VS_DIR = join(dirname(require.resolve('monaco-editor/package.json')), 'min', 'vs');

const MONACO_CDN = '"https://cdn.jsdelivr.net/npm/monaco-editor@0.52.2/min/vs"';
/** "Validate Input on Client" does nothing with zod 4 and blocks no-input procedures: start it off. */
const VALIDATE_ON_CLIENT_DEFAULT = '[h,m]=a.useState(!0)';

/** The panel's page: trpc-ui-zod4's, rewritten as `createPanel` says. */
async function renderPanel(appRouter: AppRouter, { basePath, trpcUrl }: { basePath: string; trpcUrl: string }) {
  const { renderTrpcPanel } = await import('trpc-ui-zod4');
  const rendered = renderTrpcPanel(appRouter, {
    url: trpcUrl,
    transformer: undefined,
    meta: {
      title: 'orders-service',
      description: 'Every procedure of the API. Set a Bearer token with the Headers button to call protected ones.',
    },
  });
  if (!rendered.includes(MONACO_CDN) || !rendered.includes(VALIDATE_ON_CLIENT_DEFAULT)) {
    throw new Error('trpc-ui-zod4 changed: the panel rewrite no longer applies; check the pinned version');
  }
  return rendered
    .replace(MONACO_CDN, `location.origin+${JSON.stringify(`${basePath}/monaco/vs`)}`)
    .replace(VALIDATE_ON_CLIENT_DEFAULT, '[h,m]=a.useState(!1)')
    .replace('<title>tRPC.ui()</title>', '<title>orders-service panel</title>');
}

/**
 * The tRPC panel (trpc-ui-zod4), made to work offline: Monaco is served from
 * `monaco-editor/min/vs` at an absolute URL built from the page's own address (a relative
 * one breaks Monaco's JSON worker), and client-side validation starts unticked. The page is
 * rendered as the panel is made (at start), and trpc-ui-zod4 is loaded for it only then: a
 * server without the panel (production's default) does not carry it (about 8 MB of memory).
 */
export function createPanel(appRouter: AppRouter, paths: { basePath: string; trpcUrl: string }) {
  const html = renderPanel(appRouter, paths);
  html.catch(() => undefined);
  const monaco = createStaticFiles(MONACO_VS_DIR);

  return async function serve(res: ServerResponse, subPath: string): Promise<boolean> {
    if (subPath === '' || subPath === '/') {
      const page = await html;
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
      res.end(page);
      return true;
    }
    if (subPath.startsWith('/monaco/vs/')) return monaco(res, subPath.slice('/monaco/vs/'.length));
    return false;
  };
}
