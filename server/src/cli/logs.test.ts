import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callApi } from '../../test/api-client.ts';
import { useTestApp } from '../../test/fixture.ts';
import { temporaryFolder } from '../../test/server-process.ts';
import { REPO_ROOT } from '../../test/test-results.ts';

const { app } = useTestApp();

/** `pnpm logs` as a user runs it: the script, a request id, a file or stdin. */
function runLogs(args: string[], input?: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'server/src/cli/logs.ts', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    ...(input === undefined ? {} : { input }),
  });
}

describe('pnpm logs', () => {
  it('prints one request as a timeline: access line, auth decision, procedure call, SQL', async () => {
    const other = await callApi(app.url, 'system.ping', { protocol: 'rest' });
    const refused = await callApi(app.url, 'auth.login', {
      protocol: 'trpc',
      input: { email: 'nobody@example.com', password: 'not the password' },
    });
    expect(refused.status).toBe(401);
    const file = join(temporaryFolder(), 'server.log');
    writeFileSync(file, `not json\n${app.logs.text}`);

    const story = runLogs([String(refused.requestId), file]);
    expect(story.status, story.stderr).toBe(0);
    const lines = story.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`request ${refused.requestId}: POST /trpc/v1.auth.login from 127.0.0.1`);
    expect(story.stdout).toMatch(/\+\d+ms WARN +auth_failure \[v1\.auth\.login\] Unknown Email/);
    expect(story.stdout).toMatch(
      /WARN +procedure_call \[v1\.auth\.login\] v1\.auth\.login INVALID_CREDENTIALS 401: .+ \(\d+(\.\d+)? ms\)/,
    );
    expect(story.stdout).toMatch(/DEBUG db_query \[v1\.auth\.login\] select .* \(\d+(\.\d+)? ms\)/);
    expect(lines.at(-1)).toMatch(/INFO +http_request POST \/trpc\/v1\.auth\.login -> 401 \(\d+(\.\d+)? ms\)$/);
    expect(story.stdout).not.toContain(String(other.requestId));
    // The password never was in the log, and is not in the story.
    expect(story.stdout).not.toContain('not the password');

    const fromStdin = runLogs([String(other.requestId)], app.logs.text);
    expect(fromStdin.status).toBe(0);
    expect(fromStdin.stdout).toMatch(/http_request GET \/api\/v1\/system\/ping -> 200/);
  });

  it('says so when no line has the id, and how to call it without one', () => {
    const missing = runLogs(['req-that-never-was'], '{"event":"x","request_id":"other"}\n');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no line of request or trace "req-that-never-was"');
    const usage = runLogs([]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('usage: pnpm logs <request_id | trace_id> [file]');
  });
});
