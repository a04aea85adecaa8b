import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { AuditReport } from './audit.ts';
import { AUDIT_DIR } from './files.ts';
import { auditFolder } from './run-audit.ts';
import { writeReliabilityResult } from '../test-results.ts';

/**
 * Vitest `globalSetup`: gives the run a folder of its own for log lines and secrets, and
 * once every test file has finished, audits them all. A secret in any line, a line that is
 * not a JSON object, or an `http_request` line without its contract fields fails the run.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where this run's workers record their log lines and secrets. */
    logAuditFolder: string;
  }
}

/** Folders of runs that were killed before their teardown. */
const STALE_AFTER_MS = 24 * 60 * 60 * 1000;
let runFolder = '';

export function setup(project: TestProject): void {
  mkdirSync(AUDIT_DIR, { recursive: true });
  for (const name of readdirSync(AUDIT_DIR)) {
    const folder = join(AUDIT_DIR, name);
    if (Date.now() - statSync(folder).mtimeMs > STALE_AFTER_MS) rmSync(folder, { recursive: true, force: true });
  }
  runFolder = join(AUDIT_DIR, `run-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(runFolder);
  project.provide('logAuditFolder', runFolder);
}

function summary(report: AuditReport): string {
  return (
    `log audit: ${report.lines_audited} lines in ${report.files} files, ${report.http_request_lines} http_request lines, ` +
    `${report.secrets_tracked.total} secrets tracked, ${report.secrets_found} found, ` +
    `${report.lines_missing_contract_fields} lines missing contract fields, ${report.lines_not_json} not JSON`
  );
}

export function teardown(): void {
  // Failed until proven otherwise: if vitest gives up waiting for the audit, the run fails.
  const exitCodeBefore = process.exitCode;
  process.exitCode = 1;
  const started = performance.now();
  const report = auditFolder(runFolder);
  const durationMs = Math.round(performance.now() - started);
  const file = writeReliabilityResult('log-audit', { audit_duration_ms: durationMs, ...report });
  console.log(`\n${summary(report)} (${durationMs} ms; ${file})`);
  if (report.passed) {
    process.exitCode = exitCodeBefore;
    rmSync(runFolder, { recursive: true, force: true });
    return;
  }
  // Vitest only logs an error thrown here: the exit code set above is what fails the run.
  // The recorded lines stay in the run's folder for a look.
  console.error(
    `log audit FAILED (lines kept in ${runFolder}):\n${JSON.stringify(
      {
        findings: report.findings,
        contract_violations: report.contract_violations,
        not_json: report.not_json_examples,
      },
      null,
      2,
    )}`,
  );
  throw new Error(summary(report));
}
