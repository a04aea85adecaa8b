import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { threadId } from 'node:worker_threads';
import type { SecretKind } from './audit.ts';
import { LOG_FILE_PREFIX, SECRET_FILE_PREFIX } from './files.ts';

/**
 * What the suite-wide log audit reads: every log line the tests captured or their server
 * processes printed, and every secret the tests handled. Each test worker appends to files
 * of its own in the run's folder under `test-results/log-audit/`; the global teardown scans
 * them all.
 */
const worker = `${process.pid}-${threadId}`;
let logFile = '';
let secretFile = '';

/** Off until the test setup turns it on: a LogCapture used outside the suite records nothing. */
let recording = false;
let pendingLogs: string[] = [];
let pendingLogBytes = 0;
let pendingSecrets: string[] = [];
const seenSecrets = new Set<string>();
/** Buffered in memory and appended in large pieces: some test files write tens of thousands of lines. */
const FLUSH_AT_BYTES = 1 << 20;

/** Records into `folder`, the test run's own (runs started side by side do not mix). */
export function startRecording(folder: string): void {
  mkdirSync(folder, { recursive: true });
  logFile = join(folder, `${LOG_FILE_PREFIX}${worker}.ndjson`);
  secretFile = join(folder, `${SECRET_FILE_PREFIX}${worker}.ndjson`);
  recording = true;
}

/** Appends whatever is buffered. Synchronous, so it also works while the process exits. */
export function flushRecords(): void {
  if (pendingLogs.length > 0) {
    appendFileSync(logFile, pendingLogs.join(''));
    pendingLogs = [];
    pendingLogBytes = 0;
  }
  if (pendingSecrets.length > 0) {
    appendFileSync(secretFile, pendingSecrets.join(''));
    pendingSecrets = [];
  }
}

/**
 * A safety net for lines written after the last hook: one exit handler per process, which
 * flushes the buffers of the test file loaded last (earlier files flushed in their hooks).
 */
const LATEST_FLUSH = Symbol.for('orders.logAudit.flush');
const processGlobals = globalThis as { [LATEST_FLUSH]?: () => void };
if (!processGlobals[LATEST_FLUSH]) process.on('exit', () => processGlobals[LATEST_FLUSH]?.());
processGlobals[LATEST_FLUSH] = () => {
  if (recording) flushRecords();
};

function recordLogLine(line: string): void {
  if (!recording || line === '') return;
  pendingLogs.push(`${line}\n`);
  pendingLogBytes += line.length + 1;
  if (pendingLogBytes >= FLUSH_AT_BYTES) flushRecords();
}

/** One source of log text (a capture, a child's stdout): its chunks are cut into whole lines. */
export interface LogSink {
  write(chunk: string): void;
  /** Records a last line that had no newline. */
  end(): void;
}

export function createLogSink(): LogSink {
  let rest = '';
  return {
    write(chunk) {
      if (!recording) return;
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) recordLogLine(line);
    },
    end() {
      recordLogLine(rest);
      rest = '';
    },
  };
}

/** Records everything a spawned server prints on stdout (its JSON log), as it prints it. */
export function recordProcessOutput(stdout: Readable): void {
  const sink = createLogSink();
  // A chunk may end inside a multi-byte character: the decoder keeps it for the next one.
  const decoder = new StringDecoder('utf8');
  stdout.on('data', (chunk: Buffer | string) => sink.write(typeof chunk === 'string' ? chunk : decoder.write(chunk)));
  stdout.once('end', () => {
    sink.write(decoder.end());
    sink.end();
  });
}

/** Records a secret the suite handled; the audit proves none of them reached a log line. */
export function recordSecret(kind: SecretKind, value: string | undefined | null): void {
  if (!recording || typeof value !== 'string' || value === '') return;
  const key = `${kind}\u0000${value}`;
  if (seenSecrets.has(key)) return;
  seenSecrets.add(key);
  pendingSecrets.push(`${JSON.stringify({ kind, value })}\n`);
}
