import { z } from 'zod';
import { isLoopbackHost } from './http/ip-address.ts';
import { isSecretKey, REDACTED } from './logging/redact.ts';
import { parseTrustProxy, type TrustProxy } from './http/trust-proxy.ts';
import { tracingSettings, TracingConfigError, type TracingSettings } from './telemetry/tracing-config.ts';

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const positiveInt = (max: number) => z.coerce.number<string>().int('must be a whole number').min(1).max(max);

/** Durations like `15m`, `30d`, `900s` or plain seconds. */
const durationSeconds = z
  .string()
  .regex(/^\d+[smhd]?$/, 'must be a duration like 900, 15m, 12h or 30d')
  .transform((text) => {
    const unit = text.at(-1) ?? 's';
    const factor = { s: 1, m: 60, h: 3600, d: 86_400 }[unit] ?? 1;
    return Number.parseInt(text, 10) * factor;
  });

/** `TRUST_PROXY`: false, a number of proxies, or their CIDRs (see http/trust-proxy.ts). */
const trustProxy = z.string().transform((text, ctx): TrustProxy => {
  const parsed = parseTrustProxy(text);
  if ('kind' in parsed) return parsed;
  ctx.issues.push({ code: 'custom', message: parsed.problem, input: text });
  return z.NEVER;
});

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number<string>().int('must be a whole number').min(0).max(65_535).default(3000),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' }).optional(),
  PGLITE_DIR: z.string().min(1).default('.data/pglite'),
  MIGRATE_ON_START: booleanFlag.optional(),
  DB_POOL_MAX: positiveInt(200).default(10),
  DB_STATEMENT_TIMEOUT_MS: positiveInt(600_000).default(10_000),
  DB_CONNECT_TIMEOUT_MS: positiveInt(600_000).default(5_000),
  LOG_LEVEL: z
    .string()
    .transform((level) => level.toLowerCase())
    .pipe(z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }))
    .optional(),
  LOG_FILE: z.string().min(1).optional(),
  JWT_SECRET: z.string().optional(),
  JWT_ISSUER: z.string().min(1).default('orders-service'),
  JWT_AUDIENCE: z.string().min(1).default('orders-api'),
  ACCESS_TOKEN_TTL: durationSeconds.default(900),
  REFRESH_TOKEN_TTL: durationSeconds.default(30 * 86_400),
  REFRESH_REUSE_GRACE_SECONDS: z.coerce.number<string>().int('must be a whole number').min(0).max(300).default(10),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((list) =>
      list
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(z.union([z.literal('*'), z.url({ error: 'each origin must be a URL like https://app.example.com' })])),
    ),
  TRUST_PROXY: trustProxy.default({ kind: 'hops', hops: 0 }),
  RATE_LIMIT_WINDOW_SECONDS: positiveInt(86_400).default(60),
  RATE_LIMIT_PER_IP: positiveInt(1_000_000).default(30),
  RATE_LIMIT_PER_EMAIL: positiveInt(1_000_000).default(10),
  RATE_LIMIT_PER_EMAIL_GLOBAL: positiveInt(1_000_000).default(100),
  MAX_BODY_BYTES: positiveInt(100 * 1024 * 1024).default(1024 * 1024),
  MAX_BATCH_SIZE: positiveInt(1000).default(20),
  // `official` serves /trpc with tRPC's standalone adapter and /api with trpc-to-openapi's
  // handler, for comparison; `native` serves both from node's request without Fetch objects.
  HTTP_ADAPTER: z.enum(['native', 'official']).default('native'),
  SHUTDOWN_TIMEOUT_MS: positiveInt(600_000).default(10_000),
  WEB_CONCURRENCY: positiveInt(64).default(1),
  PANEL_ENABLED: booleanFlag.optional(),
  ADMIN_EMAIL: z.email().default('admin@example.com'),
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  SEED_DEMO_DATA: booleanFlag.optional(),
  PAYMENT_GATEWAY: z.enum(['simulated', 'stripe']).default('simulated'),
  STRIPE_SECRET_KEY: z
    .string()
    .regex(/^sk_(test|live)_[A-Za-z0-9_]{1,200}$/, 'must be a Stripe secret key (sk_test_… or sk_live_…)')
    .optional(),
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9_+/=]{1,200}$/, 'must be a Stripe webhook signing secret (whsec_…)')
    .optional(),
  STRIPE_API_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s):// URL like https://api.stripe.com' })
    .default('https://api.stripe.com'),
  PAYMENT_RECONCILE_INTERVAL_SECONDS: z.coerce
    .number<string>()
    .int('must be a whole number')
    .min(0)
    .max(86_400)
    .default(60),
  PAYMENT_RECONCILE_AFTER_SECONDS: z.coerce
    .number<string>()
    .int('must be a whole number')
    .min(0)
    .max(86_400)
    .default(300),
  PAYMENT_GATEWAY_LATENCY_MS: z.coerce.number<string>().int().min(0).max(60_000).default(0),
  PAYMENT_GATEWAY_TIMEOUT_MS: positiveInt(120_000).default(5_000),
  SWEEP_INTERVAL_SECONDS: z.coerce.number<string>().int('must be a whole number').min(0).max(604_800).default(3600),
  SWEEP_BATCH_SIZE: positiveInt(100_000).default(1000),
  // Prometheus metrics on a listener of their own, loopback unless told otherwise; 0 turns it off.
  METRICS_PORT: z.coerce.number<string>().int('must be a whole number').min(0).max(65_535).default(9464),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
  MAIL_FROM: z.string().trim().min(3).max(254).default('orders-service <no-reply@localhost>'),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  REQUIRE_VERIFIED_EMAIL: booleanFlag.default(false),
});

/** Used only in development on a loopback HOST, when no secret is configured: it is public. */
const DEVELOPMENT_JWT_SECRET = 'development-only-secret-do-not-use-in-production!';
const MIN_SECRET_BYTES = 32;

function mailTransportOf(env: z.infer<typeof EnvSchema>): 'smtp' | 'files' | 'none' {
  if (env.SMTP_URL !== undefined) return 'smtp';
  return env.NODE_ENV === 'development' ? 'files' : 'none';
}

function toConfig(env: z.infer<typeof EnvSchema>, tracing: TracingSettings | undefined) {
  const embeddedDatabase = env.DATABASE_URL === undefined;
  const loopbackHost = isLoopbackHost(env.HOST);
  // Development's conveniences (public demo passwords, internal error text) only where no
  // one but this machine can connect: NODE_ENV unset on 0.0.0.0 must not hand them out.
  const localDevelopment = env.NODE_ENV === 'development' && loopbackHost;
  const seedDemoData = env.SEED_DEMO_DATA ?? localDevelopment;
  return {
    nodeEnv: env.NODE_ENV,
    isProduction: env.NODE_ENV === 'production',
    localDevelopment,
    host: env.HOST,
    port: env.PORT,
    database: {
      url: env.DATABASE_URL,
      pgliteDir: env.PGLITE_DIR,
      poolMax: env.DB_POOL_MAX,
      statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
      migrateOnStart: env.MIGRATE_ON_START ?? (embeddedDatabase || env.NODE_ENV === 'development'),
    },
    log: {
      // Development shows the SQL (`db_query` is a debug line); elsewhere info and up.
      level: env.LOG_LEVEL ?? (env.NODE_ENV === 'development' ? 'debug' : 'info'),
      file: env.LOG_FILE,
      logQueries: env.NODE_ENV === 'development',
    },
    jwt: {
      secret: env.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL,
      refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL,
      refreshReuseGraceSeconds: env.REFRESH_REUSE_GRACE_SECONDS,
    },
    http: {
      corsOrigins: env.CORS_ORIGINS,
      trustProxy: env.TRUST_PROXY,
      maxBodyBytes: env.MAX_BODY_BYTES,
      maxBatchSize: env.MAX_BATCH_SIZE,
      adapter: env.HTTP_ADAPTER,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    },
    rateLimit: {
      windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS,
      perIp: env.RATE_LIMIT_PER_IP,
      perEmail: env.RATE_LIMIT_PER_EMAIL,
      perEmailGlobal: env.RATE_LIMIT_PER_EMAIL_GLOBAL,
    },
    webConcurrency: env.WEB_CONCURRENCY,
    panelEnabled: env.PANEL_ENABLED ?? (env.NODE_ENV !== 'production' && loopbackHost),
    admin: { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD },
    seed: {
      demoData: seedDemoData,
      // The demo admin's password is public: never on a service others can reach.
      demoAdmin: seedDemoData && localDevelopment,
    },
    paymentGateway:
      env.PAYMENT_GATEWAY === 'stripe'
        ? {
            kind: 'stripe' as const,
            timeoutMs: env.PAYMENT_GATEWAY_TIMEOUT_MS,
            // Present: crossFieldProblems refuses stripe without a key.
            stripe: { secretKey: env.STRIPE_SECRET_KEY ?? '', apiUrl: env.STRIPE_API_URL },
          }
        : {
            kind: 'simulated' as const,
            latencyMs: env.PAYMENT_GATEWAY_LATENCY_MS,
            timeoutMs: env.PAYMENT_GATEWAY_TIMEOUT_MS,
          },
    /** Signed webhook deliveries at POST /webhooks/stripe; unset, that route answers 404. */
    stripeWebhookSecret: env.STRIPE_WEBHOOK_SECRET,
    /** Settles payment attempts left pending past the grace period; an interval of 0 turns it off. */
    paymentReconcile: {
      intervalSeconds: env.PAYMENT_RECONCILE_INTERVAL_SECONDS,
      afterSeconds: env.PAYMENT_RECONCILE_AFTER_SECONDS,
    },
    mail: {
      // Without SMTP, development writes each message under .data/mail/ (and prints its link);
      // elsewhere a message that cannot be sent is logged as not sent.
      transport: mailTransportOf(env),
      smtpUrl: env.SMTP_URL,
      from: env.MAIL_FROM,
      directory: '.data/mail',
    },
    /** Where the links in the mail point; the server's own address unless it is behind another. */
    publicUrl: env.PUBLIC_URL ?? `http://${env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST}:${env.PORT}`,
    accounts: { requireVerifiedEmail: env.REQUIRE_VERIFIED_EMAIL },
    /** The periodic deletion of rows nothing needs any more; an interval of 0 turns it off. */
    sweep: {
      intervalSeconds: env.SWEEP_INTERVAL_SECONDS,
      batchSize: env.SWEEP_BATCH_SIZE,
    },
    /** `/metrics` for Prometheus; port 0 turns it off. */
    metrics: { port: env.METRICS_PORT, host: env.METRICS_HOST },
    /** OpenTelemetry traces, from the standard OTEL_* variables; undefined when off (no endpoint). */
    tracing,
  };
}

export type Config = ReturnType<typeof toConfig>;

/** One readable line per bad variable: `PORT: must be a whole number (got "abc")`. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/** A set secret is long enough in every mode; the built-in one only serves local development. */
function jwtSecretProblem(env: z.infer<typeof EnvSchema>): string | undefined {
  if (env.JWT_SECRET !== undefined) {
    const secretBytes = Buffer.byteLength(env.JWT_SECRET, 'utf8');
    if (secretBytes < MIN_SECRET_BYTES)
      return `JWT_SECRET: must be at least ${MIN_SECRET_BYTES} bytes (got ${secretBytes})`;
    return undefined;
  }
  if (env.NODE_ENV !== 'development') return `JWT_SECRET: is required when NODE_ENV is ${env.NODE_ENV}`;
  if (isLoopbackHost(env.HOST)) return undefined;
  return (
    `JWT_SECRET: is required when HOST (${JSON.stringify(env.HOST)}) is not a loopback address: the built-in ` +
    `development secret is public and would let anyone sign tokens; set a secret of at least ${MIN_SECRET_BYTES} ` +
    'bytes, or listen on HOST=127.0.0.1'
  );
}

function crossFieldProblems(env: z.infer<typeof EnvSchema>): string[] {
  const problems: string[] = [];
  if (env.DATABASE_URL === undefined && env.WEB_CONCURRENCY > 1) {
    problems.push('WEB_CONCURRENCY: the embedded database serves one process; set DATABASE_URL to run several workers');
  }
  const secretProblem = jwtSecretProblem(env);
  if (secretProblem !== undefined) problems.push(secretProblem);
  if (env.PAYMENT_GATEWAY === 'stripe' && env.STRIPE_SECRET_KEY === undefined) {
    problems.push('STRIPE_SECRET_KEY: is required when PAYMENT_GATEWAY is stripe (an sk_test_… key for test mode)');
  }
  if (env.NODE_ENV === 'production' && env.CORS_ORIGINS.includes('*')) {
    problems.push('CORS_ORIGINS: a wildcard (*) is not allowed in production; list exact origins');
  }
  return problems;
}

const SECRET_VARIABLES = new Set([
  'JWT_SECRET',
  'ADMIN_PASSWORD',
  'DATABASE_URL',
  'SMTP_URL',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
]);

/** A URL as it may be logged: no password, in its userinfo or as a query parameter. */
function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = REDACTED;
  // libpq-style URLs may carry the password as `?password=` (pg reads it there too).
  for (const key of [...parsed.searchParams.keys()]) {
    if (isSecretKey(key)) parsed.searchParams.set(key, REDACTED);
  }
  return parsed.toString();
}

/**
 * Reads the environment once, at start. Empty strings count as unset, so `PORT=` in a
 * `.env` file means "use the default". Throws a ConfigError naming every bad variable.
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const env = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '(environment)');
        const got = SECRET_VARIABLES.has(name) ? '' : ` (got ${JSON.stringify(env[name])})`;
        return `${name}: ${issue.message}${env[name] === undefined ? '' : got}`;
      }),
    );
  }
  const problems = crossFieldProblems(parsed.data);
  let tracing: TracingSettings | undefined;
  try {
    tracing = tracingSettings(env);
  } catch (error) {
    if (!(error instanceof TracingConfigError)) throw error;
    problems.push(error.message);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return toConfig(parsed.data, tracing);
}

/** The config as it may be logged: secrets replaced, a database URL without its password. */
export function describeConfig(config: Config) {
  return {
    ...config,
    database: {
      ...config.database,
      url: config.database.url === undefined ? '(embedded PGlite)' : withoutPassword(config.database.url),
    },
    mail: {
      ...config.mail,
      smtpUrl: config.mail.smtpUrl === undefined ? undefined : withoutPassword(config.mail.smtpUrl),
    },
    jwt: { ...config.jwt, secret: '[REDACTED]' },
    paymentGateway:
      config.paymentGateway.kind === 'stripe'
        ? { ...config.paymentGateway, stripe: { ...config.paymentGateway.stripe, secretKey: '[REDACTED]' } }
        : config.paymentGateway,
    stripeWebhookSecret: config.stripeWebhookSecret === undefined ? undefined : '[REDACTED]',
    admin: { email: config.admin.email, password: config.admin.password ? '[REDACTED]' : undefined },
  };
}
