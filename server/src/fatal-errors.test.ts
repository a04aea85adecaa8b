import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogLine } from '../test/log-capture.ts';
import {
  STARTUP_TIMEOUT_MS,
  cleanUpServers,
  databaseEnv,
  newTestDatabase,
  readLogFile,
  spawnServer,
  temporaryFolder,
  waitForExit,
} from '../test/server-process.ts';
import { writeReliabilitySection } from '../test/test-results.ts';

/**
 * An error nothing catches ends the process with a FATAL line, written to stdout and to
 * LOG_FILE before it exits 1. The crash comes from a module preloaded into the real server
 * process (`server/test/crash-after-start.ts`), after the server has started and answered
 * a first request.
 */

const CRASH_PRELOAD = pathToFileURL(fileURLToPath(new URL('../test/crash-after-start.ts', import.meta.url))).href;

afterEach(cleanUpServers);

interface ErrorFields {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
}

const CASES = [
  { crashWith: 'exception', event: 'uncaught_exception', what: 'an error thrown from a timer' },
  { crashWith: 'rejection', event: 'unhandled_rejection', what: 'a promise rejected without a handler' },
] as const;

describe('a fatal error', () => {
  it.each(CASES)(
    'after start, $what: FATAL $event with message and stack, on stdout and in LOG_FILE, exit 1',
    { timeout: STARTUP_TIMEOUT_MS + 30_000 },
    async ({ crashWith, event }) => {
      const logFile = join(temporaryFolder(), 'server.log');
      const message = `planted ${crashWith} ${randomBytes(4).toString('hex')}`;
      const outcome: Record<string, unknown> = { fatal_line_written: false };
      try {
        const server = spawnServer(
          {
            ...databaseEnv(await newTestDatabase()),
            NODE_ENV: 'production',
            LOG_FILE: logFile,
            CRASH_WITH: crashWith,
            CRASH_MESSAGE: message,
          },
          { preload: [CRASH_PRELOAD] },
        );
        const started = await server.waitForLine({ event: 'server_started' }, { timeoutMs: STARTUP_TIMEOUT_MS });
        // The first request arms the crash; it is answered before the crash comes.
        expect((await fetch(`${String(started.url)}/healthz`)).status).toBe(200);
        const exit = await waitForExit(server);
        outcome.exit_code = exit.code;
        const onDisk = readLogFile(logFile);
        const fatalOnDisk = onDisk.filter((line) => line.level === 'FATAL');
        const fatalOnStdout = server.lines.filter((line) => line.level === 'FATAL');
        outcome.fatal_line_written = fatalOnDisk.length === 1 && fatalOnStdout.length === 1;
        outcome.in_log_file = fatalOnDisk.length;
        outcome.on_stdout = fatalOnStdout.length;

        expect(exit).toEqual({ code: 1, signal: null });
        expect(onDisk.map((line) => line.event)).toContain('server_started');
        expect(fatalOnDisk).toHaveLength(1);
        const fatal = fatalOnDisk[0] as LogLine;
        // The last line on disk: written and flushed before the process left.
        expect(onDisk.at(-1)).toEqual(fatal);
        expect(fatal.event).toBe(event);
        const error = fatal.error as ErrorFields;
        expect(error).toMatchObject({ name: 'Error', message });
        expect(String(error.stack)).toContain(message);
        expect(String(error.stack)).toContain('crashFromTimer');
        outcome.stack_logged = String(error.stack).includes('crashFromTimer');
        // The same line went to stdout.
        expect(fatalOnStdout).toEqual([fatal]);
      } finally {
        writeReliabilitySection('process', `fatal_${crashWith}`, { event, ...outcome });
      }
    },
  );
});
