import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Git-ignored: what a test run measured, for the reliability report to quote. */
export const TEST_RESULTS_DIR = join(REPO_ROOT, 'test-results');
export const RELIABILITY_DIR = join(TEST_RESULTS_DIR, 'reliability');

/** Writes `test-results/reliability/<name>.json` and returns its path. */
export function writeReliabilityResult(name: string, result: Record<string, unknown>): string {
  mkdirSync(RELIABILITY_DIR, { recursive: true });
  const file = join(RELIABILITY_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ generated_at: new Date().toISOString(), ...result }, null, 2)}\n`);
  return file;
}

/**
 * Sets one section of `test-results/reliability/<name>.json`, keeping the others: several
 * test files report into one file. Read and written in one synchronous step.
 */
export function writeReliabilitySection(name: string, section: string, result: Record<string, unknown>): string {
  const file = join(RELIABILITY_DIR, `${name}.json`);
  let sections: Record<string, unknown> = {};
  try {
    sections = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    // first section of this run, or an unreadable leftover
  }
  mkdirSync(RELIABILITY_DIR, { recursive: true });
  sections[section] = { generated_at: new Date().toISOString(), ...result };
  writeFileSync(file, `${JSON.stringify(sections, null, 2)}\n`);
  return file;
}
