import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LogCapture } from '../../test/log-capture.ts';
import { createLogger } from './logging/logger.ts';
import { startPeriodicTask } from './periodic-task.ts';

function capture() {
  const logs = new LogCapture();
  return { logs, logger: createLogger({ level: 'info', destination: logs }) };
}

describe('startPeriodicTask', () => {
  it('logs a failed run as <name>_failed at ERROR, with the error, and runs again', async () => {
    const { logs, logger } = capture();
    let runs = 0;
    const task = startPeriodicTask({
      name: 'sweep',
      intervalMs: 10,
      firstRunAfterMs: 0,
      logger,
      run: () => {
        runs += 1;
        return Promise.reject(new Error('the database went away'));
      },
    });
    await expect.poll(() => runs, { timeout: 2_000 }).toBeGreaterThanOrEqual(3);
    await task.stop();
    const failures = logs.events('sweep_failed');
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures[0]).toMatchObject({
      level: 'ERROR',
      reason: 'the database went away',
      error: { name: 'Error', message: 'the database went away' },
    });
  });

  it('never overlaps runs, and stop() aborts the running one and waits for it to end', async () => {
    const { logger } = capture();
    let active = 0;
    let mostActive = 0;
    let finished = 0;
    let sawAbort = false;
    const task = startPeriodicTask({
      name: 'slow',
      intervalMs: 1,
      firstRunAfterMs: 0,
      logger,
      run: async (signal) => {
        active += 1;
        mostActive = Math.max(mostActive, active);
        while (!signal.aborted) await sleep(5);
        sawAbort = true;
        await sleep(50);
        active -= 1;
        finished += 1;
      },
    });
    await expect.poll(() => active, { timeout: 2_000 }).toBe(1);
    await sleep(50);
    await task.stop();
    expect({ sawAbort, finished, active, mostActive }).toEqual({
      sawAbort: true,
      finished: 1,
      active: 0,
      mostActive: 1,
    });
    await sleep(30);
    expect(finished).toBe(1);
  });

  it('keeps no process alive: a process with only a task scheduled exits by itself', { timeout: 30_000 }, () => {
    const moduleUrl = new URL('./periodic-task.ts', import.meta.url).href;
    const script = `
      const { startPeriodicTask } = await import(${JSON.stringify(moduleUrl)});
      const logger = { error: () => undefined };
      startPeriodicTask({ name: 'sweep', intervalMs: 3_600_000, firstRunAfterMs: 3_600_000, logger, run: async () => {} });
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect({ status: child.status, signal: child.signal, stderr: child.stderr }).toEqual({
      status: 0,
      signal: null,
      stderr: '',
    });
  });
});
