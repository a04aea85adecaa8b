import { AppError } from '../core/errors.ts';
import type { Context } from './context.ts';

/**
 * Counts one attempt of `action` per client IP and, when given, per email, and refuses
 * with 429 RATE_LIMITED and `Retry-After` once either is over its limit for the window.
 */
export async function enforceRateLimits(
  ctx: Context,
  { action, email }: { action: string; email?: string },
): Promise<void> {
  const { perIp, perEmail } = ctx.config.rateLimit;
  const checks = [
    { key: `${action}:ip:${ctx.ip}`, max: perIp },
    ...(email === undefined ? [] : [{ key: `${action}:email:${email}`, max: perEmail }]),
  ];
  const decisions = await Promise.all(checks.map((check) => ctx.rateLimiter.hit(check.key, check.max)));
  const refused = decisions
    .map((decision, index) => ({ decision, key: checks[index]?.key }))
    .filter(({ decision }) => !decision.allowed);
  if (refused.length === 0) return;
  const retryAfter = Math.max(...refused.map(({ decision }) => decision.retryAfterSeconds));
  throw new AppError('RATE_LIMITED', `Too many attempts; try again in ${retryAfter} s`, {
    headers: { 'Retry-After': String(retryAfter) },
    context: { action, limited_by: refused.map(({ key }) => key?.split(':')[1]), retry_after_s: retryAfter },
  });
}
