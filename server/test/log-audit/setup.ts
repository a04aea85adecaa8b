import { afterAll, inject } from 'vitest';
import { installFetchRecorder, settleFetchRecords } from './fetch-recorder.ts';
import { flushRecords, startRecording } from './records.ts';

/**
 * Runs before every test file (vitest `setupFiles`): from here on, every log line a
 * LogCapture or a spawned server writes, and every secret sent or received over fetch, is
 * recorded for the audit the global teardown runs.
 */
startRecording(inject('logAuditFolder'));
installFetchRecorder();

// Registered before the file's own hooks, so it runs after them all (hooks stack): the
// lines and password hashes an app writes as it closes are in.
afterAll(async () => {
  await settleFetchRecords();
  flushRecords();
});
