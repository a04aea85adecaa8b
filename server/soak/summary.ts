import { WARMUP_SECONDS } from './settings.ts';
import { downsample, latencySummary, round, slope } from './stats.ts';
import type { Traffic } from './drive.ts';
import { statusLabel } from './timed-call.ts';

/** The outcomes counted by kind and by status, the unexpected ones, and the refusals provoked on purpose. */
export function summarize(traffic: Traffic) {
  const byKind: Record<
    string,
    {
      count: number;
      statuses: Record<string, number>;
      unexpected: number;
      latency_ms: ReturnType<typeof latencySummary>;
    }
  > = {};
  const statuses: Record<string, number> = {};
  const unexpected: { kind: string; status: string; wrong?: string }[] = [];
  const times = new Map<string, number[]>();
  for (const outcome of traffic.outcomes) {
    const label = statusLabel(outcome);
    const entry = (byKind[outcome.kind] ??= { count: 0, statuses: {}, unexpected: 0, latency_ms: latencySummary([]) });
    entry.count += 1;
    entry.statuses[label] = (entry.statuses[label] ?? 0) + 1;
    statuses[label] = (statuses[label] ?? 0) + 1;
    if (!outcome.expected || outcome.wrong) {
      entry.unexpected += 1;
      unexpected.push({ kind: outcome.kind, status: label, ...(outcome.wrong ? { wrong: outcome.wrong } : {}) });
    }
    const list = times.get(outcome.kind) ?? [];
    list.push(outcome.ms);
    times.set(outcome.kind, list);
  }
  for (const [kind, list] of times) {
    const entry = byKind[kind];
    if (entry) entry.latency_ms = latencySummary(list);
  }
  // Refusals the traffic provokes on purpose, and gets: not errors.
  const deliberate: Record<string, number> = {};
  for (const outcome of traffic.outcomes) {
    const label = statusLabel(outcome);
    if (outcome.expected && outcome.status >= 400)
      deliberate[`${outcome.kind}: ${label}`] = (deliberate[`${outcome.kind}: ${label}`] ?? 0) + 1;
  }
  return { byKind, statuses, unexpected, deliberate };
}

/** The server's RSS over the run: where it started, ended and peaked, and its trend after the warm-up. */
export function rssSummary(samples: [number, number][]) {
  const values = samples.map(([, mib]) => mib);
  const afterWarmup = samples.filter(([seconds]) => seconds >= WARMUP_SECONDS);
  const start = values[0] ?? 0;
  const end = values.at(-1) ?? 0;
  const warm = afterWarmup[0]?.[1] ?? start;
  return {
    start,
    end,
    peak: Math.max(0, ...values),
    growth: round(end - start),
    warmup_seconds: WARMUP_SECONDS,
    after_warmup: warm,
    growth_after_warmup: round(end - warm),
    trend_mib_per_minute_after_warmup: round(slope(afterWarmup) * 60, 2),
    samples: downsample(samples, 60),
  };
}
