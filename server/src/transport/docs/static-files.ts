import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};

/**
 * Serves the files of one package folder (Swagger UI, Monaco) read-only and cached in
 * memory. Paths that climb out of the folder, dotfiles and unknown file types are 404.
 */
export function createStaticFiles(root: string) {
  const cache = new Map<string, Buffer>();
  const rootWithSep = root.endsWith(sep) ? root : root + sep;

  return async function serve(res: ServerResponse, relativePath: string): Promise<boolean> {
    const contentType = CONTENT_TYPES[extname(relativePath)];
    const file = normalize(join(root, relativePath));
    if (!contentType || !file.startsWith(rootWithSep) || relativePath.split('/').some((part) => part.startsWith('.'))) {
      return false;
    }
    let body = cache.get(file);
    if (!body) {
      try {
        body = await readFile(file);
      } catch {
        return false;
      }
      cache.set(file, body);
    }
    res.writeHead(200, {
      'Content-Type': contentType,
      'Content-Length': body.length,
      'Cache-Control': 'public, max-age=86400',
    });
    res.end(body);
    return true;
  };
}
