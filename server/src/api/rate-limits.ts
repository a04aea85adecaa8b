import { AppError } from '../core/errors.ts';
import type { Context } from './context.ts';

/**
 * Counts one attempt of `action` per client IP and, when given an email, per email from that
 * IP and per email from anywhere, and refuses with 429 RATE_LIMITED and `Retry-After` once any
 * is over its limit for the window. The per-email limit is keyed by IP too, so nobody can lock
 * a known account out by failing its logins from elsewhere; the higher per-email ceiling over
 * every IP still stops an attack spread over many addresses.
 */
export async function enforceRateLimits(
  ctx: Context,
  { action, email }: { action: string; email?: string },
): Promise<void> {
  const { perIp, perEmail, perEmailGlobal } = ctx.config.rateLimit;
  const checks = [
    { limit: 'ip', key: `${action}:ip:${ctx.ip}`, max: perIp },
    ...(email === undefined
      ? []
      : [
          { limit: 'email_and_ip', key: `${action}:email-ip:${email}:${ctx.ip}`, max: perEmail },
          { limit: 'email', key: `${action}:email:${email}`, max: perEmailGlobal },
        ]),
  ];
  const decisions = await Promise.all(
    checks.map(async ({ limit, key, max }) => ({ limit, decision: await ctx.rateLimiter.hit(key, max) })),
  );
  const refused = decisions.filter(({ decision }) => !decision.allowed);
  if (refused.length === 0) return;
  const retryAfter = Math.max(...refused.map(({ decision }) => decision.retryAfterSeconds));
  throw new AppError('RATE_LIMITED', `Too many attempts; try again in ${retryAfter} s`, {
    headers: { 'Retry-After': String(retryAfter) },
    context: { action, limited_by: refused.map(({ limit }) => limit), retry_after_s: retryAfter },
  });
}
