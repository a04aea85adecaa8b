import { setTimeout as sleep } from 'node:timers/promises';
import { pickOperation } from './operations.ts';
import { residentMiB, type ServerProcess } from './server-process.ts';
import { log, RATE, SECONDS } from './settings.ts';
import { pick, round } from './stats.ts';
import type { Outcome, World } from './world.ts';

/** What the traffic did: every call's outcome (with when its operation started), and the server's RSS each second. */
export interface Traffic {
  outcomes: (Outcome & { at: number })[];
  launched: number;
  skippedBusy: number;
  rss: [number, number][];
  seconds: number;
}

/** Launches one operation every 1/RATE s (open loop: a slow answer does not slow the rate), for SECONDS. */
export async function drive(world: World, server: ServerProcess): Promise<Traffic> {
  const traffic: Traffic = { outcomes: [], launched: 0, skippedBusy: 0, rss: [], seconds: 0 };
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const sampleRss = () => {
    const mib = residentMiB(server.pid);
    if (mib !== undefined) traffic.rss.push([round(elapsed()), round(mib)]);
  };
  sampleRss();
  const sampler = setInterval(sampleRss, 1_000);
  let nextReport = 30;
  const inFlight = new Set<Promise<void>>();
  for (;;) {
    const now = elapsed();
    if (now >= SECONDS) break;
    if (now >= nextReport) {
      const unexpected = traffic.outcomes.filter((outcome) => !outcome.expected || outcome.wrong).length;
      log(
        `${Math.round(now)} s: ${traffic.outcomes.length} requests, ${unexpected} unexpected, RSS ${traffic.rss.at(-1)?.[1] ?? '?'} MiB`,
      );
      nextReport += 30;
    }
    const due = traffic.launched / RATE;
    if (due > now) {
      await sleep((due - now) * 1000);
      continue;
    }
    traffic.launched += 1;
    const operation = pickOperation(world.random);
    const customer = pick(
      world.random,
      world.customers.filter((candidate) => !candidate.busy),
    );
    if (!customer) {
      traffic.skippedBusy += 1;
      continue;
    }
    customer.busy = true;
    const at = now;
    const running: Promise<void> = operation
      .run(world, customer)
      .then((outcomes) => {
        for (const outcome of outcomes) traffic.outcomes.push({ ...outcome, at });
      })
      .catch((error: unknown) => {
        const code = error instanceof Error ? error.message : String(error);
        traffic.outcomes.push({ kind: operation.name, status: 0, code, ms: 0, expected: false, at });
      })
      .finally(() => {
        customer.busy = false;
        inFlight.delete(running);
      });
    inFlight.add(running);
  }
  await Promise.all(inFlight);
  traffic.seconds = elapsed();
  sampleRss();
  clearInterval(sampler);
  return traffic;
}
