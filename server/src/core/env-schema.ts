import { z } from 'zod';
import { parseTrustProxy, type TrustProxy } from './http/trust-proxy.ts';

/**
 * The environment variables the service reads, each with its rule and default: what `loadConfig`
 * validates first, before the rules that span several variables (config.ts).
 */
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

export const EnvSchema = z.object({
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

export type Env = z.infer<typeof EnvSchema>;
