import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { AuthSession } from '@orders/shared';
import { describe, expect, it } from 'vitest';
import {
  callApi,
  expectError,
  newPassword,
  registerUser,
  uniqueEmail,
  type ApiResponse,
  type Protocol,
  type TestUser,
} from '../../test/api-client.ts';
import { useTestApp } from '../../test/fixture.ts';
import { accessLine, rawRequest, waitForLines } from '../../test/http-client.ts';
import { recordProcessOutput } from '../../test/log-audit/records.ts';
import { LogCapture, type LogLine } from '../../test/log-capture.ts';
import { TEST_JWT_SECRET, type TestApp } from '../../test/test-app.ts';
import { createTestDatabase, migrate, onRealPostgres } from '../../test/test-database.ts';
import { createLogger } from '../core/logging/logger.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WINDOW_SECONDS = 60;

/**
 * Behind one trusted proxy (`TRUST_PROXY=1`), which appends the address it was reached from
 * to X-Forwarded-For: each test speaks from addresses of its own, so per-IP counters never collide.
 */
const { app, secrets } = useTestApp({
  env: { TRUST_PROXY: '1', RATE_LIMIT_PER_IP: '3', RATE_LIMIT_PER_EMAIL: '2', RATE_LIMIT_PER_EMAIL_GLOBAL: '2' },
  afterTests: (fixture) => expect(fixture.secrets.size).toBeGreaterThan(5),
});
let ipCounter = 0;
const newIp = () => `203.0.113.${++ipCounter}`;
const from = (ip: string) => ({ 'x-forwarded-for': ip });

function login(
  target: TestApp,
  { protocol, email, password, ip }: { protocol: Protocol; email: string; password: string; ip?: string },
) {
  secrets.add(password);
  return callApi<AuthSession>(target.url, 'auth.login', {
    protocol,
    input: { email, password },
    ...(ip ? { headers: from(ip) } : {}),
  });
}

/** 429 RATE_LIMITED with a Retry-After within the window, on either protocol. */
function expectRateLimited(res: ApiResponse, { windowSeconds = WINDOW_SECONDS } = {}): number {
  const envelope = expectError(res, { status: 429, code: 'RATE_LIMITED' });
  const retryAfter = res.headers.get('retry-after');
  expect(retryAfter).toMatch(/^\d+$/);
  const seconds = Number(retryAfter);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(windowSeconds);
  expect(envelope.message).toBe(`Too many attempts; try again in ${seconds} s`);
  return seconds;
}

async function refusalLine(target: TestApp, res: ApiResponse): Promise<LogLine> {
  const [line] = await waitForLines(target.logs, {
    event: 'procedure_call',
    filter: { request_id: res.requestId, ok: false },
  });
  return line as LogLine;
}

describe('login', () => {
  it('is limited per IP: the 4th attempt from one address is 429 with Retry-After, on both protocols', async () => {
    const ip = newIp();
    const protocols: Protocol[] = ['rest', 'trpc', 'rest', 'trpc', 'rest'];
    const answers: ApiResponse[] = [];
    for (const protocol of protocols)
      answers.push(await login(app, { protocol, email: uniqueEmail('nobody'), password: newPassword(), ip }));
    for (const res of answers.slice(0, 3)) expectError(res, { status: 401, code: 'INVALID_CREDENTIALS' });
    for (const res of answers.slice(3)) expectRateLimited(res);

    const limited = answers[3] as ApiResponse;
    expect(await refusalLine(app, limited)).toMatchObject({
      code: 'RATE_LIMITED',
      status: 429,
      ip,
      context: { action: 'login', limited_by: ['ip'] },
    });
    // A refused attempt never reaches the password check.
    expect(app.logs.events('auth_failure', { request_id: limited.requestId })).toEqual([]);

    const elsewhere = await login(app, {
      protocol: 'rest',
      email: uniqueEmail('nobody'),
      password: newPassword(),
      ip: newIp(),
    });
    expectError(elsewhere, { status: 401, code: 'INVALID_CREDENTIALS' });
  });

  it('is limited per email over all addresses by the global ceiling, whatever the case of the email; even the right password is refused', async () => {
    const user = await registerUser(app, { secrets, label: 'target', headers: from(newIp()) });
    const wrong = newPassword();
    expectError(await login(app, { protocol: 'rest', email: user.email, password: wrong, ip: newIp() }), {
      status: 401,
      code: 'INVALID_CREDENTIALS',
    });
    expectError(await login(app, { protocol: 'trpc', email: user.email.toUpperCase(), password: wrong, ip: newIp() }), {
      status: 401,
      code: 'INVALID_CREDENTIALS',
    });

    const right = await login(app, { protocol: 'rest', email: user.email, password: user.password, ip: newIp() });
    expectRateLimited(right);
    expect(await refusalLine(app, right)).toMatchObject({ context: { action: 'login', limited_by: ['email'] } });
    expect(app.logs.events('auth_success', { request_id: right.requestId })).toEqual([]);

    const other = await registerUser(app, { secrets, label: 'bystander', headers: from(newIp()) });
    const unaffected = await login(app, {
      protocol: 'rest',
      email: other.email,
      password: other.password,
      ip: newIp(),
    });
    expect(unaffected.status).toBe(200);
    secrets.addSession(unaffected.data);
  });
});

describe('the client address behind the proxy', () => {
  it('is the one the proxy appended: X-Forwarded-For entries the client wrote itself dodge no limit', async () => {
    const realIp = newIp();
    const answers: ApiResponse[] = [];
    for (let index = 0; index < 4; index++) {
      // The client sends an X-Forwarded-For of its own, new each time; the proxy appends what it saw.
      const forwardedFor = `198.51.100.${index}, 192.0.2.${index}, ${realIp}`;
      const protocol = index % 2 ? 'trpc' : 'rest';
      answers.push(
        await login(app, { protocol, email: uniqueEmail('spoofer'), password: newPassword(), ip: forwardedFor }),
      );
    }
    for (const res of answers.slice(0, 3)) expectError(res, { status: 401, code: 'INVALID_CREDENTIALS' });
    const limited = answers[3] as ApiResponse;
    expectRateLimited(limited);
    expect(await refusalLine(app, limited)).toMatchObject({ ip: realIp, context: { limited_by: ['ip'] } });
    for (const res of answers) expect((await accessLine(app.logs, res.requestId)).ip).toBe(realIp);
  });

  it('is the socket address when the entry the proxy appended is not an IP address', async () => {
    for (const garbage of ['<script>alert(1)</script>', 'admin@example.com', '203.0.113.250:8080']) {
      const res = await callApi(app.url, 'system.ping', {
        protocol: 'rest',
        headers: from(`203.0.113.251, ${garbage}`),
      });
      expect(res.status).toBe(200);
      expect((await accessLine(app.logs, res.requestId)).ip).toBe('127.0.0.1');
    }
  });

  it('reads several X-Forwarded-For headers as one list, in order', async () => {
    const realIp = newIp();
    const requestId = await new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(app.url);
      const req = request(
        { host: hostname, port, path: '/healthz', headers: { 'x-forwarded-for': ['198.51.100.77', realIp] } },
        (res) => {
          res.resume().on('end', () => resolve(String(res.headers['x-request-id'])));
        },
      );
      req.on('error', reject).end();
    });
    expect((await accessLine(app.logs, requestId)).ip).toBe(realIp);
  });
});

describe('register', () => {
  it('is limited per IP: the 4th account from one address is 429 and not created', async () => {
    const ip = newIp();
    for (let index = 0; index < 3; index++)
      await registerUser(app, { secrets, label: `bulk${index}`, headers: from(ip) });
    const email = uniqueEmail('bulk-extra');
    const password = newPassword();
    secrets.add(password);
    const res = await callApi(app.url, 'auth.register', {
      protocol: 'trpc',
      input: { email, password, name: 'Extra' },
      headers: from(ip),
    });
    expectRateLimited(res);
    const rows = await app.database.db.selectFrom('users').select('id').where('email', '=', email).execute();
    expect(rows).toEqual([]);
  });
});

describe('refresh', () => {
  it('is limited per IP: the 4th refresh from one address is 429, and the token it carried is not spent', async () => {
    const user: TestUser = await registerUser(app, { secrets, label: 'refresher', headers: from(newIp()) });
    const ip = newIp();
    let refreshToken = user.refreshToken;
    for (let index = 0; index < 3; index++) {
      const res = await callApi<AuthSession>(app.url, 'auth.refresh', {
        protocol: index % 2 ? 'trpc' : 'rest',
        input: { refreshToken },
        headers: from(ip),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      secrets.addSession(res.data);
      refreshToken = res.data.refreshToken;
    }
    const limited = await callApi(app.url, 'auth.refresh', {
      protocol: 'rest',
      input: { refreshToken },
      headers: from(ip),
    });
    expectRateLimited(limited);
    expect(await refusalLine(app, limited)).toMatchObject({ context: { action: 'refresh', limited_by: ['ip'] } });

    const later = await callApi<AuthSession>(app.url, 'auth.refresh', {
      protocol: 'rest',
      input: { refreshToken },
      headers: from(newIp()),
    });
    expect(later.status, JSON.stringify(later.body)).toBe(200);
    secrets.addSession(later.data);
  });
});

describe('per email: counted per address, under a ceiling over every address', () => {
  const { app: direct } = useTestApp({
    env: { RATE_LIMIT_PER_IP: '100', RATE_LIMIT_PER_EMAIL: '2', RATE_LIMIT_PER_EMAIL_GLOBAL: '4' },
    secrets,
  });

  /** A login over a socket bound to `localAddress`: the server sees that address, no proxy header involved. */
  async function loginFrom(
    localAddress: string,
    { protocol, email, password }: { protocol: Protocol; email: string; password: string },
  ) {
    secrets.add(password);
    const res = await rawRequest(direct.url, {
      method: 'POST',
      path: protocol === 'rest' ? '/api/v1/auth/login' : '/trpc/v1.auth.login',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
      localAddress,
    });
    const body = JSON.parse(res.body) as { code?: string; error?: { data: { code: string } } };
    return { status: res.status, code: body.code ?? body.error?.data.code, requestId: res.headers['x-request-id'] };
  }

  async function limitedBy(requestId: unknown): Promise<unknown> {
    const [line] = await waitForLines(direct.logs, {
      event: 'procedure_call',
      filter: { request_id: requestId, ok: false },
    });
    return line?.context;
  }

  it('failing logins from one address cannot lock the owner out from another; many addresses still hit the ceiling', async () => {
    const owner = await registerUser(direct, { secrets, label: 'owner' });
    const { email, password } = owner;
    const attacker = '127.0.0.2';
    for (const protocol of ['rest', 'trpc'] as const) {
      const wrong = await loginFrom(attacker, { protocol, email, password: newPassword() });
      expect(wrong).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' });
    }
    const blocked = await loginFrom(attacker, { protocol: 'rest', email, password });
    expect(blocked).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(await limitedBy(blocked.requestId)).toMatchObject({ action: 'login', limited_by: ['email_and_ip'] });

    // The owner, from their own address, is not locked out by the attacker's failures.
    const mine = await loginFrom('127.0.0.1', { protocol: 'trpc', email, password });
    expect(mine).toMatchObject({ status: 200 });

    // Four attempts on this email so far, the ceiling: a fifth address is refused too.
    const spread = await loginFrom('127.0.0.3', { protocol: 'rest', email, password });
    expect(spread).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(await limitedBy(spread.requestId)).toMatchObject({ action: 'login', limited_by: ['email'] });
    expect(direct.logs.events('auth_success', { request_id: spread.requestId })).toEqual([]);
  });
});

describe('without a trusted proxy', () => {
  const WINDOW = 4;
  const { app: direct } = useTestApp({
    env: { RATE_LIMIT_PER_IP: '3', RATE_LIMIT_PER_EMAIL: '100', RATE_LIMIT_WINDOW_SECONDS: String(WINDOW) },
    secrets,
  });

  it('ignores X-Forwarded-For (a client cannot dodge the limit), and lets attempts through again after the window', async () => {
    const attempt = (index: number) =>
      login(direct, {
        protocol: index % 2 ? 'trpc' : 'rest',
        email: uniqueEmail('spoof'),
        password: newPassword(),
        ip: `198.51.100.${index}`,
      });
    // The first attempt opens the window; the next three fall inside it.
    const answers: ApiResponse[] = [];
    for (let index = 0; index < 4; index++) answers.push(await attempt(index));
    for (const res of answers.slice(0, 3)) expectError(res, { status: 401, code: 'INVALID_CREDENTIALS' });
    const retryAfter = expectRateLimited(answers[3] as ApiResponse, { windowSeconds: WINDOW });
    expect(await refusalLine(direct, answers[3] as ApiResponse)).toMatchObject({ ip: '127.0.0.1' });

    await sleep(retryAfter * 1000 + 200);
    expectError(await attempt(9), { status: 401, code: 'INVALID_CREDENTIALS' });
  });
});

interface ServerProcess {
  child: ChildProcess;
  lines: LogLine[];
  stderr: () => string;
  url: Promise<string>;
}

/** The real server in a process of its own: `node --import tsx server/src/main.ts`. */
function spawnServer(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Its lines join the suite-wide log audit.
  recordProcessOutput(child.stdout);
  const lines: LogLine[] = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no server_started within 90 s:\n${stderr}`)), 90_000);
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      if (line.event === 'server_started') {
        clearTimeout(timer);
        resolve(String(line.url));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it started:\n${stderr}`));
    });
  });
  return { child, lines, stderr: () => stderr, url };
}

async function stopServer(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!stopped) {
    server.child.kill('SIGKILL');
    await exited;
  }
}

describe('across processes', () => {
  it.skipIf(!onRealPostgres)(
    'holds the per-IP login limit over two server processes: the 5th attempt overall is 429 (needs real PostgreSQL: two processes share one database)',
    async () => {
      const testDatabase = await createTestDatabase();
      const logger = createLogger({ level: 'error', destination: new LogCapture() });
      const handle = await testDatabase.open(logger);
      await migrate(handle, logger);
      await handle.close();
      const env = {
        NODE_ENV: 'test',
        JWT_SECRET: TEST_JWT_SECRET,
        DATABASE_URL: testDatabase.url ?? '',
        PORT: '0',
        RATE_LIMIT_PER_IP: '4',
        MIGRATE_ON_START: 'true',
        LOG_LEVEL: 'info',
        // Two servers side by side: the default metrics port would be taken by the first.
        METRICS_PORT: '0',
      };
      const servers: ServerProcess[] = [];
      try {
        servers.push(spawnServer(env), spawnServer(env));
        const urls = await Promise.all(servers.map((server) => server.url));
        expect(new Set(urls).size).toBe(2);

        const answers: ApiResponse[] = [];
        for (let index = 0; index < 5; index++) {
          const target = urls[index % 2] ?? '';
          const password = newPassword();
          secrets.add(password);
          answers.push(
            await callApi(target, 'auth.login', {
              protocol: index % 2 ? 'trpc' : 'rest',
              input: { email: uniqueEmail('shared'), password },
            }),
          );
        }
        expect(answers.map((res) => res.status)).toEqual([401, 401, 401, 401, 429]);
        expectRateLimited(answers[4] as ApiResponse);

        // Each process answered its share: the count lives in the database, not in either process.
        for (const [index, server] of servers.entries()) {
          const served = server.lines.filter(
            (line) => line.event === 'http_request' && String(line.path).includes('auth'),
          );
          expect(served.length, `server ${index} served ${served.length} login attempts`).toBeGreaterThanOrEqual(2);
        }
      } finally {
        await Promise.all(servers.map(stopServer));
        for (const server of servers) secrets.expectNoneIn(server.lines.map((line) => JSON.stringify(line)).join('\n'));
        await testDatabase.drop();
      }
    },
    120_000,
  );
});
