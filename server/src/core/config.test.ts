import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from './config.ts';

const STRONG_SECRET = 'a-production-secret-of-more-than-32-bytes-0123456789';

/** Runs loadConfig and returns the ConfigError it must throw. */
function configErrorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

function problemFor(error: ConfigError, variable: string): string {
  const problem = error.problems.find((line) => line.startsWith(`${variable}: `));
  if (problem === undefined) throw new Error(`no problem names ${variable}: ${error.message}`);
  return problem;
}

describe('loadConfig: one bad variable', () => {
  const cases: { variable: string; value: string; why: RegExp }[] = [
    { variable: 'PORT', value: 'abc', why: /expected number/ },
    { variable: 'PORT', value: '70000', why: /65535/ },
    { variable: 'PORT', value: '80.5', why: /whole number/ },
    { variable: 'LOG_LEVEL', value: 'loud', why: /must be one of debug, info, warn, error, fatal/ },
    { variable: 'DATABASE_URL', value: 'mysql://x', why: /must be a postgres:\/\/ or postgresql:\/\/ URL/ },
    { variable: 'DATABASE_URL', value: 'not a url', why: /postgres/ },
    { variable: 'CORS_ORIGINS', value: 'not-a-url', why: /each origin must be a URL/ },
    { variable: 'CORS_ORIGINS', value: 'https://app.example.com, nope', why: /each origin must be a URL/ },
    { variable: 'MAX_BODY_BYTES', value: '0', why: />=1/ },
    { variable: 'MAX_BATCH_SIZE', value: '0', why: />=1/ },
    { variable: 'MAX_BATCH_SIZE', value: 'many', why: /expected number/ },
    { variable: 'TRUST_PROXY', value: 'maybe', why: /must be a number of proxies .*"maybe" is not a CIDR/ },
    { variable: 'TRUST_PROXY', value: '10.0.0.0/8,10.1/8', why: /list of proxy CIDRs like .*"10.1\/8" is not a CIDR/ },
    { variable: 'TRUST_PROXY', value: '100', why: /at most 32 proxies/ },
    { variable: 'SEED_DEMO_DATA', value: 'lots', why: /must be true or false/ },
    { variable: 'MIGRATE_ON_START', value: 'perhaps', why: /must be true or false/ },
    { variable: 'PANEL_ENABLED', value: 'sometimes', why: /must be true or false/ },
    { variable: 'NODE_ENV', value: 'staging', why: /development.*test.*production/ },
    { variable: 'ACCESS_TOKEN_TTL', value: 'forever', why: /must be a duration like 900, 15m, 12h or 30d/ },
    { variable: 'REFRESH_TOKEN_TTL', value: '30 days', why: /must be a duration/ },
    { variable: 'WEB_CONCURRENCY', value: '0', why: />=1/ },
    { variable: 'SHUTDOWN_TIMEOUT_MS', value: '-5', why: />=1/ },
    { variable: 'DB_POOL_MAX', value: '1000', why: /<=200/ },
    { variable: 'ADMIN_EMAIL', value: 'not-an-email', why: /email/i },
    { variable: 'ADMIN_PASSWORD', value: 'too-short', why: /at least 12 characters/ },
    { variable: 'PAYMENT_GATEWAY', value: 'paypal', why: /simulated.*stripe/ },
    { variable: 'PAYMENT_GATEWAY_LATENCY_MS', value: '-1', why: />=0/ },
    { variable: 'REFRESH_REUSE_GRACE_SECONDS', value: '-1', why: />=0/ },
    { variable: 'REFRESH_REUSE_GRACE_SECONDS', value: '2.5', why: /whole number/ },
    { variable: 'RATE_LIMIT_PER_EMAIL_GLOBAL', value: '0', why: />=1/ },
    { variable: 'SWEEP_INTERVAL_SECONDS', value: '-1', why: />=0/ },
    { variable: 'SWEEP_INTERVAL_SECONDS', value: '1.5', why: /whole number/ },
    { variable: 'SWEEP_BATCH_SIZE', value: '0', why: />=1/ },
  ];

  it.each(cases)('$variable=$value throws a ConfigError naming $variable and why', ({ variable, value, why }) => {
    const error = configErrorFor({ [variable]: value });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toHaveLength(1);
    const problem = problemFor(error, variable);
    expect(problem).toMatch(why);
    expect(error.message).toContain(problem);
  });

  it('echoes a bad ordinary value so the operator sees what was read', () => {
    expect(problemFor(configErrorFor({ PORT: 'abc' }), 'PORT')).toContain('(got "abc")');
    expect(problemFor(configErrorFor({ LOG_LEVEL: 'loud' }), 'LOG_LEVEL')).toContain('(got "loud")');
  });

  it('never echoes the value of a secret variable', () => {
    const badUrl = configErrorFor({ DATABASE_URL: 'mysql://app:hunter2-db-pass@db.internal/app' });
    expect(badUrl.message).not.toContain('hunter2-db-pass');
    const badPassword = configErrorFor({ ADMIN_PASSWORD: 'tiny-secret' });
    expect(badPassword.message).not.toContain('tiny-secret');
  });
});

describe('loadConfig: sessions and login limits', () => {
  it('keeps a rotated refresh token good for 10 s by default, and 0 turns the grace off', () => {
    expect(loadConfig({}).jwt.refreshReuseGraceSeconds).toBe(10);
    expect(loadConfig({ REFRESH_REUSE_GRACE_SECONDS: '0' }).jwt.refreshReuseGraceSeconds).toBe(0);
  });

  it('limits logins per email over every address to 100 by default', () => {
    expect(loadConfig({}).rateLimit).toMatchObject({ perEmail: 10, perEmailGlobal: 100 });
    expect(loadConfig({ RATE_LIMIT_PER_EMAIL_GLOBAL: '500' }).rateLimit.perEmailGlobal).toBe(500);
  });
});

describe('loadConfig: the periodic sweep', () => {
  it('sweeps hourly, 1000 rows a batch, unless told otherwise; 0 turns it off', () => {
    expect(loadConfig({}).sweep).toEqual({ intervalSeconds: 3600, batchSize: 1000 });
    expect(loadConfig({ SWEEP_INTERVAL_SECONDS: '0', SWEEP_BATCH_SIZE: '250' }).sweep).toEqual({
      intervalSeconds: 0,
      batchSize: 250,
    });
  });
});

describe('loadConfig: observability', () => {
  it('serves metrics on 127.0.0.1:9464 unless told otherwise; METRICS_PORT=0 turns them off', () => {
    expect(loadConfig({}).metrics).toEqual({ port: 9464, host: '127.0.0.1' });
    expect(loadConfig({ METRICS_PORT: '0', METRICS_HOST: '0.0.0.0' }).metrics).toEqual({ port: 0, host: '0.0.0.0' });
    expect(problemFor(configErrorFor({ METRICS_PORT: '70000' }), 'METRICS_PORT')).toMatch(/METRICS_PORT: .*65535/);
  });

  it('traces only with an OTLP endpoint, not when the SDK is disabled, and names the protocol it cannot speak', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toEqual({
      protocol: 'http/protobuf',
      serviceName: 'orders-service',
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'orders-eu',
      }).tracing,
    ).toEqual({ protocol: 'http/json', serviceName: 'orders-eu' });
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing,
    ).toBeUndefined();
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }).tracing,
    ).toBeUndefined();
    const grpc = configErrorFor({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    });
    expect(problemFor(grpc, 'OTEL_EXPORTER_OTLP_PROTOCOL')).toBe(
      'OTEL_EXPORTER_OTLP_PROTOCOL: must be http/protobuf or http/json (got "grpc")',
    );
  });
});

describe('loadConfig: several problems', () => {
  it('names every bad variable at once', () => {
    const error = configErrorFor({
      PORT: 'abc',
      LOG_LEVEL: 'loud',
      TRUST_PROXY: 'maybe',
      NODE_ENV: 'staging',
      ACCESS_TOKEN_TTL: 'forever',
    });
    expect(error.problems).toHaveLength(5);
    for (const variable of ['PORT', 'LOG_LEVEL', 'TRUST_PROXY', 'NODE_ENV', 'ACCESS_TOKEN_TTL']) {
      expect(error.message).toContain(problemFor(error, variable));
    }
  });

  it('names every production rule that is broken at once', () => {
    const error = configErrorFor({ NODE_ENV: 'production', CORS_ORIGINS: '*', WEB_CONCURRENCY: '2' });
    expect(error.problems).toHaveLength(3);
    problemFor(error, 'JWT_SECRET');
    problemFor(error, 'CORS_ORIGINS');
    problemFor(error, 'WEB_CONCURRENCY');
  });
});

describe('loadConfig: empty strings', () => {
  it('treats an empty variable as unset, so the default applies', () => {
    const blank = loadConfig({
      NODE_ENV: '',
      HOST: '',
      PORT: '',
      DATABASE_URL: '',
      LOG_LEVEL: '',
      CORS_ORIGINS: '',
      TRUST_PROXY: '',
      MAX_BODY_BYTES: '',
      MAX_BATCH_SIZE: '',
      PANEL_ENABLED: '',
      ACCESS_TOKEN_TTL: '',
      ADMIN_PASSWORD: '',
    });
    expect(blank).toEqual(loadConfig({}));
    expect(blank.port).toBe(3000);
  });

  it('treats an empty JWT_SECRET in production as missing', () => {
    const error = configErrorFor({ NODE_ENV: 'production', JWT_SECRET: '' });
    expect(problemFor(error, 'JWT_SECRET')).toMatch(/required when NODE_ENV is production/);
  });
});

describe('loadConfig: the secret and production rules', () => {
  it.each(['production', 'test'])('refuses NODE_ENV=%s without JWT_SECRET', (nodeEnv) => {
    const error = configErrorFor({ NODE_ENV: nodeEnv });
    expect(problemFor(error, 'JWT_SECRET')).toBe(`JWT_SECRET: is required when NODE_ENV is ${nodeEnv}`);
  });

  it.each(['production', 'test', 'development'])(
    'refuses a JWT_SECRET shorter than 32 bytes with NODE_ENV=%s, without echoing it',
    (nodeEnv) => {
      const error = configErrorFor({ NODE_ENV: nodeEnv, JWT_SECRET: 'x'.repeat(31) });
      const problem = problemFor(error, 'JWT_SECRET');
      expect(problem).toMatch(/at least 32 bytes \(got 31\)/);
      expect(error.message).not.toContain('x'.repeat(31));
    },
  );

  it('refuses a short JWT_SECRET with NODE_ENV unset too', () => {
    expect(problemFor(configErrorFor({ JWT_SECRET: 'dev' }), 'JWT_SECRET')).toMatch(/at least 32 bytes \(got 3\)/);
  });

  it('counts bytes, not characters, and accepts exactly 32 bytes', () => {
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).jwt.secret).toBe('x'.repeat(32));
    // 16 two-byte characters are 32 bytes.
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'é'.repeat(16) }).jwt.secret).toBe('é'.repeat(16));
    expect(problemFor(configErrorFor({ NODE_ENV: 'production', JWT_SECRET: 'é'.repeat(15) }), 'JWT_SECRET')).toMatch(
      /got 30/,
    );
  });

  it('runs in development without a JWT_SECRET, on a built-in secret long enough for HS256', () => {
    const config = loadConfig({});
    expect(Buffer.byteLength(config.jwt.secret)).toBeGreaterThanOrEqual(32);
  });

  it('refuses CORS_ORIGINS=* in production, alone or in a list', () => {
    for (const origins of ['*', 'https://app.example.com,*']) {
      const error = configErrorFor({ NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET, CORS_ORIGINS: origins });
      expect(problemFor(error, 'CORS_ORIGINS')).toMatch(/wildcard \(\*\) is not allowed in production/);
    }
  });

  it('allows CORS_ORIGINS=* in development', () => {
    expect(loadConfig({ CORS_ORIGINS: '*' }).http.corsOrigins).toEqual(['*']);
  });

  it('refuses WEB_CONCURRENCY=2 on the embedded database, and allows it with DATABASE_URL', () => {
    expect(problemFor(configErrorFor({ WEB_CONCURRENCY: '2' }), 'WEB_CONCURRENCY')).toMatch(/set DATABASE_URL/);
    const config = loadConfig({ WEB_CONCURRENCY: '2', DATABASE_URL: 'postgres://app@db.internal:5432/orders' });
    expect(config.webConcurrency).toBe(2);
  });

  it('accepts a complete production configuration', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: STRONG_SECRET,
      DATABASE_URL: 'postgresql://app:pw@db.internal:5432/orders',
      CORS_ORIGINS: 'https://app.example.com, https://admin.example.com',
      WEB_CONCURRENCY: '4',
    });
    expect(config.isProduction).toBe(true);
    expect(config.http.corsOrigins).toEqual(['https://app.example.com', 'https://admin.example.com']);
    expect(config.jwt.secret).toBe(STRONG_SECRET);
  });
});

describe('loadConfig: development defaults stay on loopback', () => {
  const PUBLIC_HOSTS = ['0.0.0.0', '::', '192.168.1.20', '2001:db8::7', 'orders.internal'];
  const LOOPBACK_HOSTS = ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST'];

  it.each(PUBLIC_HOSTS)('refuses HOST=%s without a JWT_SECRET, naming what to set', (host) => {
    const error = configErrorFor({ HOST: host });
    expect(error.problems).toHaveLength(1);
    expect(problemFor(error, 'JWT_SECRET')).toBe(
      `JWT_SECRET: is required when HOST (${JSON.stringify(host)}) is not a loopback address: the built-in ` +
        'development secret is public and would let anyone sign tokens; set a secret of at least 32 bytes, ' +
        'or listen on HOST=127.0.0.1',
    );
  });

  it.each(LOOPBACK_HOSTS)('runs HOST=%s on the built-in secret, with the panel and the demo data', (host) => {
    const config = loadConfig({ HOST: host });
    expect(config.localDevelopment).toBe(true);
    expect(config.panelEnabled).toBe(true);
    expect(config.seed).toEqual({ demoData: true, demoAdmin: true });
  });

  it.each(PUBLIC_HOSTS)(
    'on HOST=%s with a JWT_SECRET: no panel, demo data, demo admin or internal error text',
    (host) => {
      const config = loadConfig({ HOST: host, JWT_SECRET: STRONG_SECRET });
      expect(config.jwt.secret).toBe(STRONG_SECRET);
      expect(config.localDevelopment).toBe(false);
      expect(config.panelEnabled).toBe(false);
      expect(config.seed).toEqual({ demoData: false, demoAdmin: false });
    },
  );

  it('serves the panel on a public HOST only when PANEL_ENABLED=true says so', () => {
    expect(loadConfig({ HOST: '0.0.0.0', JWT_SECRET: STRONG_SECRET, PANEL_ENABLED: 'true' }).panelEnabled).toBe(true);
  });

  it('seeds demo data elsewhere only when SEED_DEMO_DATA=true says so, and never a demo admin', () => {
    const publicHost = loadConfig({ HOST: '0.0.0.0', JWT_SECRET: STRONG_SECRET, SEED_DEMO_DATA: 'true' });
    expect(publicHost.seed).toEqual({ demoData: true, demoAdmin: false });
    const production = loadConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET, SEED_DEMO_DATA: 'yes' });
    expect(production.seed).toEqual({ demoData: true, demoAdmin: false });
    expect(loadConfig({ SEED_DEMO_DATA: 'false' }).seed).toEqual({ demoData: false, demoAdmin: false });
  });

  it.each(['production', 'test'])('seeds no demo data with NODE_ENV=%s, even on loopback', (nodeEnv) => {
    const config = loadConfig({ NODE_ENV: nodeEnv, JWT_SECRET: STRONG_SECRET });
    expect(config.seed).toEqual({ demoData: false, demoAdmin: false });
    expect(config.localDevelopment).toBe(false);
  });
});

describe('loadConfig: defaults', () => {
  it('serves on 127.0.0.1:3000 with the documented limits', () => {
    const config = loadConfig({});
    expect(config.nodeEnv).toBe('development');
    expect(config.isProduction).toBe(false);
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(3000);
    expect(config.http.maxBodyBytes).toBe(1024 * 1024);
    expect(config.http.maxBatchSize).toBe(20);
    expect(config.http.trustProxy).toEqual({ kind: 'hops', hops: 0 });
    expect(config.http.corsOrigins).toEqual([]);
    expect(config.webConcurrency).toBe(1);
    expect(config.database.url).toBeUndefined();
    expect(config.database.pgliteDir).toBe('.data/pglite');
    expect(config.jwt.accessTokenTtlSeconds).toBe(15 * 60);
    expect(config.jwt.refreshTokenTtlSeconds).toBe(30 * 86_400);
    expect(config.paymentGateway.kind).toBe('simulated');
  });

  it('shows SQL in development and logs info and up elsewhere', () => {
    expect(loadConfig({}).log).toMatchObject({ level: 'debug', logQueries: true });
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET }).log).toMatchObject({
      level: 'info',
      logQueries: false,
    });
    expect(loadConfig({ LOG_LEVEL: 'WARN' }).log.level).toBe('warn');
  });

  it('turns the panel on outside production, off in production unless PANEL_ENABLED=true', () => {
    expect(loadConfig({}).panelEnabled).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test', JWT_SECRET: STRONG_SECRET }).panelEnabled).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET }).panelEnabled).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET, PANEL_ENABLED: 'true' }).panelEnabled).toBe(
      true,
    );
    expect(loadConfig({ PANEL_ENABLED: 'false' }).panelEnabled).toBe(false);
  });

  it('migrates on start for the embedded database, even in production', () => {
    expect(loadConfig({}).database.migrateOnStart).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET }).database.migrateOnStart).toBe(true);
  });

  it('does not migrate a production server database on start unless asked', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_SECRET: STRONG_SECRET,
      DATABASE_URL: 'postgres://db.internal/orders',
    };
    expect(loadConfig(production).database.migrateOnStart).toBe(false);
    expect(loadConfig({ ...production, MIGRATE_ON_START: 'true' }).database.migrateOnStart).toBe(true);
    expect(loadConfig({ MIGRATE_ON_START: 'no' }).database.migrateOnStart).toBe(false);
  });

  it('reads durations, flags and origin lists as written', () => {
    const config = loadConfig({
      ACCESS_TOKEN_TTL: '10m',
      REFRESH_TOKEN_TTL: '7d',
      TRUST_PROXY: 'yes',
      CORS_ORIGINS: ' https://a.example.com ,,https://b.example.com ',
    });
    expect(config.jwt.accessTokenTtlSeconds).toBe(600);
    expect(config.jwt.refreshTokenTtlSeconds).toBe(7 * 86_400);
    expect(config.http.trustProxy).toEqual({ kind: 'hops', hops: 1 });
    expect(config.http.corsOrigins).toEqual(['https://a.example.com', 'https://b.example.com']);
    expect(loadConfig({ ACCESS_TOKEN_TTL: '900' }).jwt.accessTokenTtlSeconds).toBe(900);
    expect(loadConfig({ ACCESS_TOKEN_TTL: '12h' }).jwt.accessTokenTtlSeconds).toBe(12 * 3600);
    expect(loadConfig({ TRUST_PROXY: '0' }).http.trustProxy).toEqual({ kind: 'hops', hops: 0 });
    expect(loadConfig({ TRUST_PROXY: '2' }).http.trustProxy).toEqual({ kind: 'hops', hops: 2 });
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, ::1/128' }).http.trustProxy).toEqual({
      kind: 'cidrs',
      cidrs: ['10.0.0.0/8', '::1/128'],
    });
  });
});

describe('describeConfig', () => {
  it('never contains the JWT secret, the admin password or a database password', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: STRONG_SECRET,
      ADMIN_PASSWORD: 'admin-password-do-not-log',
      DATABASE_URL: 'postgres://orders_app:db-password-do-not-log@db.internal:5432/orders?sslmode=require',
    });
    const described = JSON.stringify(describeConfig(config));
    expect(described).not.toContain(STRONG_SECRET);
    expect(described).not.toContain('admin-password-do-not-log');
    expect(described).not.toContain('db-password-do-not-log');
    expect(described).toContain('orders_app');
    expect(described).toContain('db.internal:5432/orders');
    expect(described).toContain('sslmode=require');
  });

  it('hides a database password given as a query parameter', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://orders_app@db.internal/orders?password=query-password-do-not-log&sslpassword=key-pass',
    });
    const described = JSON.stringify(describeConfig(config));
    expect(described).not.toContain('query-password-do-not-log');
    expect(described).not.toContain('key-pass');
    expect(described).toContain('db.internal');
  });

  it('says when the embedded database is used and keeps the harmless settings', () => {
    const described = describeConfig(loadConfig({}));
    expect(described.database.url).toBe('(embedded PGlite)');
    expect(described.jwt.secret).toBe('[REDACTED]');
    expect(described.admin.password).toBeUndefined();
    expect(described.port).toBe(3000);
    expect(described.http.maxBodyBytes).toBe(1024 * 1024);
  });

  it('leaves the config it describes untouched', () => {
    const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: STRONG_SECRET });
    describeConfig(config);
    expect(config.jwt.secret).toBe(STRONG_SECRET);
  });
});

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BOOT_TIMEOUT_MS = 60_000;

interface BootResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the real server process with only PATH and `env`, and waits for it to exit. */
function boot(env: Record<string, string>): Promise<BootResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not exit within ${BOOT_TIMEOUT_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, BOOT_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the real server refuses a bad configuration', { timeout: BOOT_TIMEOUT_MS + 5_000 }, () => {
  it('exits 1 naming PORT when PORT=abc', async () => {
    const result = await boot({ PORT: 'abc' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot start');
    expect(result.stderr).toMatch(/PORT: .*expected number.*\(got "abc"\)/);
    expect(result.stdout).not.toContain('server_started');
  });

  it('exits 1 naming JWT_SECRET when production has a short secret, without printing it', async () => {
    const result = await boot({ NODE_ENV: 'production', JWT_SECRET: 'shortSecretValue' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/JWT_SECRET: must be at least 32 bytes/);
    expect(result.stderr).not.toContain('shortSecretValue');
    expect(result.stdout).not.toContain('server_started');
  });

  it('exits 1 naming JWT_SECRET when NODE_ENV is unset and HOST is not a loopback address', async () => {
    const pgliteDir = join(mkdtempSync(join(tmpdir(), 'orders-config-test-')), 'pglite');
    try {
      const result = await boot({ HOST: '0.0.0.0', PORT: '0', PGLITE_DIR: pgliteDir });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('orders-service cannot start.');
      expect(result.stderr).toMatch(
        /^ {2}- JWT_SECRET: is required when HOST \("0\.0\.0\.0"\) is not a loopback address/m,
      );
      expect(result.stdout).not.toContain('server_started');
    } finally {
      rmSync(dirname(pgliteDir), { recursive: true, force: true });
    }
  });

  it('exits 1 naming every bad variable', async () => {
    const result = await boot({ PORT: '70000', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/PORT: /);
    expect(result.stderr).toMatch(/LOG_LEVEL: /);
    expect(result.stderr).toMatch(/DATABASE_URL: /);
  });
});
