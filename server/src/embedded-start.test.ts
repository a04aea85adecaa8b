import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { recordProcessOutput, recordSecret } from '../test/log-audit/records.ts';
import { buildServer, startCommand } from '../test/start-command.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The README's first command on a machine with no database: `pnpm start` with no
 * DATABASE_URL serves everything from the embedded PGlite database, migrated and seeded.
 * `pnpm start` builds the server (`pnpm build`) and runs the compiled `server/dist/main.js`;
 * both steps run the same way here, so the compiled bundle and its compiled migrations are
 * what this starts.
 */
describe('starting with no DATABASE_URL', () => {
  it('migrates and seeds an embedded database, then serves /docs, /panel, /openapi.json and the products', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'orders-embedded-'));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      METRICS_PORT: '0',
      PGLITE_DIR: join(folder, 'data', 'pglite'),
    };
    const build = buildServer(REPO_ROOT);
    expect(build.status, build.stderr).toBe(0);
    const child = spawn(process.execPath, startCommand(REPO_ROOT), {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    recordProcessOutput(child.stdout);
    // The development admin's password, seeded here: printed for the developer, never logged.
    recordSecret('password', 'admin-password-dev');
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no server_started within 120 s')), 120_000);
        createInterface({ input: child.stdout }).on('line', (line) => {
          const parsed = JSON.parse(line) as { event?: string; url?: string };
          if (parsed.event === 'server_started' && parsed.url) {
            clearTimeout(timer);
            resolve(parsed.url);
          }
        });
        child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
      });

      for (const path of ['/docs', '/panel', '/openapi.json', '/healthz', '/readyz']) {
        expect((await fetch(`${url}${path}`)).status, path).toBe(200);
      }
      const products = (await (await fetch(`${url}/api/v1/products`)).json()) as { total: number };
      expect(products.total).toBeGreaterThan(0);
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'customer@example.com', password: 'customer-password' }),
      });
      expect(login.status).toBe(200);
    } finally {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(folder, { recursive: true, force: true });
    }
  }, 180_000);
});
