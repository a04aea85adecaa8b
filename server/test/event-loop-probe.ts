import { readFileSync } from 'node:fs';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/**
 * How long this process's event loop is held: the test app serves requests in the test's own
 * process, so a request whose handling blocks (a regular expression backtracking over a long
 * path, say) makes this probe's timer late by as long.
 *
 * A late timer alone would also count what is not the request's own work:
 * - the time a shared machine gives the thread no CPU (other processes' tests, PostgreSQL, the
 *   process's own worker threads hashing a password, on two cores): the hold of an interval is
 *   how late its tick was, but at most the CPU time the event loop's thread used in it;
 * - the garbage collector's pauses, which scale with everything the test process keeps (the
 *   suite's recorded lines, vitest's own state), hundreds of MB, not with one request: they are
 *   taken out of the interval they fall in.
 * A request that blocks spends its own CPU all the while, and holds the loop every time it is
 * sent (see `leastHold`).
 */
const TICK_MS = 5;

/** Where Linux keeps the CPU time of the process's main thread, in nanoseconds (its first field). */
const MAIN_THREAD_SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

/**
 * The CPU time the event loop's thread has used, in milliseconds: `process.threadCpuUsage`
 * where Node has it (22.19+, 24), Linux's schedstat on Node 20, the whole process's elsewhere.
 */
function loopThreadCpuMs(): () => number {
  // Typed by hand: the types follow Node 20, which lacks it.
  const { threadCpuUsage } = process as { threadCpuUsage?: () => NodeJS.CpuUsage };
  if (threadCpuUsage !== undefined) {
    return () => {
      const { user, system } = threadCpuUsage.call(process);
      return (user + system) / 1_000;
    };
  }
  try {
    readFileSync(MAIN_THREAD_SCHEDSTAT, 'utf8');
    return () => Number(readFileSync(MAIN_THREAD_SCHEDSTAT, 'utf8').split(' ', 1)[0]) / 1_000_000;
  } catch {
    return () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1_000;
    };
  }
}

/** One interval between two ticks of the probe's timer. */
interface Interval {
  from: number;
  to: number;
  cpuMs: number;
}

/** How much of [from, to] the given pauses cover, in milliseconds. */
function pausedWithin({ from, to }: Interval, pauses: readonly PerformanceEntry[]): number {
  let paused = 0;
  for (const { startTime, duration } of pauses) {
    paused += Math.max(0, Math.min(to, startTime + duration) - Math.max(from, startTime));
  }
  return paused;
}

export interface EventLoopProbe {
  /**
   * The longest hold since the probe started or was last reset, in milliseconds. Node reports
   * a collection a moment after it ends: read it past a turn of the loop (`measureHold` does).
   */
  maxHoldMs(): number;
  reset(): void;
  stop(): void;
}

export function probeEventLoop(): EventLoopProbe {
  const cpuMs = loopThreadCpuMs();
  let intervals: Interval[] = [];
  let pauses: PerformanceEntry[] = [];
  const collections = new PerformanceObserver((list) => pauses.push(...list.getEntries()));
  collections.observe({ entryTypes: ['gc'] });

  let lastTick = performance.now();
  let lastCpuMs = cpuMs();
  const timer = setInterval(() => {
    const now = performance.now();
    const nowCpuMs = cpuMs();
    // Only the late ones can be holds: an interval on time needs no more thought.
    if (now - lastTick > 2 * TICK_MS) intervals.push({ from: lastTick, to: now, cpuMs: nowCpuMs - lastCpuMs });
    lastTick = now;
    lastCpuMs = nowCpuMs;
  }, TICK_MS);
  timer.unref();

  return {
    maxHoldMs: () => {
      pauses.push(...collections.takeRecords());
      let max = 0;
      for (const interval of intervals) {
        const lateMs = interval.to - interval.from - TICK_MS;
        max = Math.max(max, Math.min(lateMs, interval.cpuMs) - pausedWithin(interval, pauses));
      }
      return max;
    },
    reset: () => {
      intervals = [];
      pauses = [];
    },
    stop: () => {
      clearInterval(timer);
      collections.disconnect();
    },
  };
}

/** Runs `work` and gives its result with the longest event-loop hold while it ran. */
export async function measureHold<Result>(
  probe: EventLoopProbe,
  work: () => Promise<Result>,
): Promise<{ result: Result; holdMs: number }> {
  probe.reset();
  const result = await work();
  // Past one timers phase: a tick that a hold at the very end made overdue runs there, before
  // this later timer (libuv runs timers in the order they were due), and is counted. Then past
  // one check phase, where Node reports the collections that ran.
  await new Promise((resolve) => setTimeout(resolve, 1));
  await new Promise((resolve) => setImmediate(resolve));
  return { result, holdMs: probe.maxHoldMs() };
}

/**
 * The least hold of `work` run up to three times (`attempt` 1, 2, 3), while it holds the loop
 * for `budgetMs` or more: a request that blocks does so every time, while a pause of the
 * machine seldom falls on the same requests twice. `work` must be safe to repeat (a refused
 * request is).
 */
export async function leastHold<Result>(
  probe: EventLoopProbe,
  { budgetMs, work }: { budgetMs: number; work: (attempt: number) => Promise<Result> },
): Promise<{ result: Result; holdMs: number }> {
  let measured = await measureHold(probe, () => work(1));
  for (let attempt = 2; attempt <= 3 && measured.holdMs >= budgetMs; attempt++) {
    const again = await measureHold(probe, () => work(attempt));
    measured = { result: again.result, holdMs: Math.min(measured.holdMs, again.holdMs) };
  }
  return measured;
}
