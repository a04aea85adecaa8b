import { join } from 'node:path';
import { TEST_RESULTS_DIR } from '../test-results.ts';

/** Where each test worker leaves its log lines and secrets for the audit. */
export const AUDIT_DIR = join(TEST_RESULTS_DIR, 'log-audit');
export const LOG_FILE_PREFIX = 'logs-';
export const SECRET_FILE_PREFIX = 'secrets-';
