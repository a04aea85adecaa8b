import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { ServerResponse } from 'node:http';
import { createStaticFiles } from './static-files.ts';

const require = createRequire(import.meta.url);
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));

/** Only the files the page needs are reachable, nothing else from the package. */
const ASSETS = new Set([
  'swagger-ui.css',
  'index.css',
  'swagger-ui-bundle.js',
  'swagger-ui-standalone-preset.js',
  'favicon-32x32.png',
  'favicon-16x16.png',
]);

const page = (basePath: string) => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>orders-service API</title>
    <link rel="stylesheet" href="${basePath}/swagger-ui.css" />
    <link rel="stylesheet" href="${basePath}/index.css" />
    <link rel="icon" type="image/png" href="${basePath}/favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${basePath}/swagger-ui-bundle.js"></script>
    <script src="${basePath}/swagger-ui-standalone-preset.js"></script>
    <script src="${basePath}/swagger-initializer.js"></script>
  </body>
</html>
`;

const initializer = (openApiUrl: string) => `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(openApiUrl)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

/**
 * Swagger UI from swagger-ui-dist, every asset served from here (no CDN), pointed at our
 * OpenAPI document. `serve` answers paths below `basePath` and returns false for others.
 */
export function createSwaggerUi({ basePath, openApiUrl }: { basePath: string; openApiUrl: string }) {
  const html = page(basePath);
  const script = initializer(openApiUrl);
  const files = createStaticFiles(SWAGGER_UI_DIR);

  return async function serve(res: ServerResponse, subPath: string): Promise<boolean> {
    if (subPath === '' || subPath === '/' || subPath === '/index.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
      res.end(html);
      return true;
    }
    if (subPath === '/swagger-initializer.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' });
      res.end(script);
      return true;
    }
    const name = subPath.slice(1);
    return ASSETS.has(name) ? files(res, name) : false;
  };
}
