import type { Logger } from './logging/logger.ts';

export interface PeriodicTaskOptions {
  /** Names the line a failed run writes: `<name>_failed`. */
  name: string;
  intervalMs: number;
  /** How long after the start the first run begins. */
  firstRunAfterMs: number;
  logger: Logger;
  /** One run; `signal` aborts when the task is stopped, so a long run can end early. */
  run: (signal: AbortSignal) => Promise<unknown>;
}

export interface PeriodicTask {
  /** Cancels the next run, asks a running one to stop, and resolves once it has. */
  stop(): Promise<void>;
}

/**
 * Runs `run` every `intervalMs` in the background of a process: the next run is timed from the
 * end of the last one, so runs never overlap; a run that fails writes `<name>_failed` (ERROR)
 * and the next one still comes; the timer never keeps the process alive.
 *
 * @example
 * const sweeper = startPeriodicTask({ name: 'sweep', intervalMs: 3_600_000, firstRunAfterMs: 60_000, logger, run });
 * await sweeper.stop(); // on shutdown, before the database closes
 */
export function startPeriodicTask(options: PeriodicTaskOptions): PeriodicTask {
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const schedule = (delayMs: number) => {
    timer = setTimeout(runOnce, delayMs);
    timer.unref();
  };
  function runOnce(): void {
    running = Promise.resolve()
      .then(() => options.run(stopping.signal))
      .then(
        () => undefined,
        (error: unknown) => {
          options.logger.error(`${options.name}_failed`, {
            reason: error instanceof Error ? error.message : String(error),
            error,
          });
        },
      )
      .finally(() => {
        running = undefined;
        if (!stopping.signal.aborted) schedule(options.intervalMs);
      });
  }

  schedule(options.firstRunAfterMs);
  return {
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
