import { isLoopbackHost } from './http/ip-address.ts';
import { isSecretKey, REDACTED } from './logging/redact.ts';
import { EnvSchema, type Env } from './env-schema.ts';
import { tracingSettings, TracingConfigError, type TracingSettings } from './telemetry/tracing-config.ts';
/** Used only in development on a loopback HOST, when no secret is configured: it is public. */
const DEVELOPMENT_JWT_SECRET = 'development-only-secret-do-not-use-in-production!';
const MIN_SECRET_BYTES = 32;

function mailTransportOf(env: Env): 'smtp' | 'files' | 'none' {
  if (env.SMTP_URL !== undefined) return 'smtp';
  return env.NODE_ENV === 'development' ? 'files' : 'none';
}

function toConfig(env: Env, tracing: TracingSettings | undefined) {
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
function jwtSecretProblem(env: Env): string | undefined {
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

function crossFieldProblems(env: Env): string[] {
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
