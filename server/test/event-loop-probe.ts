/**
 * How long this process's event loop is held: the test app serves requests in the test's own
 * process, so a request whose handling blocks (a regular expression backtracking over a long
 * path, say) makes this probe's timer late by as long.
 *
 * A late timer alone would also count the minutes a shared machine gives the process no CPU
 * (other processes' tests, PostgreSQL): the hold of an interval is how late its tick was, but
 * at most the CPU time the process used in it. A blocking request spends CPU all the while it
 * holds the loop; a process waiting for a core spends none.
 */
const TICK_MS = 5;

export interface EventLoopProbe {
  /** The longest hold since the probe started or was last reset, in milliseconds. */
  maxHoldMs(): number;
  reset(): void;
  stop(): void;
}

export function probeEventLoop(): EventLoopProbe {
  let max = 0;
  let lastTick = performance.now();
  let lastCpu = process.cpuUsage();
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    const lateMs = now - lastTick - TICK_MS;
    const cpuMs = (cpu.user + cpu.system) / 1_000;
    max = Math.max(max, Math.min(lateMs, cpuMs));
    lastTick = now;
    lastCpu = process.cpuUsage();
  }, TICK_MS);
  timer.unref();
  return {
    maxHoldMs: () => max,
    reset: () => {
      max = 0;
    },
    stop: () => clearInterval(timer),
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
  // this later timer (libuv runs timers in the order they were due), and is counted.
  await new Promise((resolve) => setTimeout(resolve, 1));
  return { result, holdMs: probe.maxHoldMs() };
}

/**
 * The least hold of `work` run up to three times (`attempt` 1, 2, 3), while it holds the loop
 * for `budgetMs` or more: a request that blocks does so every time, while a garbage collection
 * seldom falls on the same requests twice. `work` must be safe to repeat (a refused request is).
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
