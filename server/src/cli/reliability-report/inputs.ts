import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** One figures file as the report found it. */
export interface Input {
  /** Its path from the repository root. */
  file: string;
  /** The parsed JSON; undefined when the file is missing or unreadable. */
  data: unknown;
  /** When it was written: its `generated_at` or `measured_at`, else the file's time. */
  writtenAt: string | undefined;
  /** Why there is no data, when the file exists but does not parse. */
  problem?: string;
}

export const INPUT_FILES = {
  fuzz: 'test-results/reliability/fuzz.json',
  faults: 'test-results/reliability/faults.json',
  shutdown: 'test-results/reliability/shutdown.json',
  paymentCrash: 'test-results/reliability/payment-crash.json',
  process: 'test-results/reliability/process.json',
  security: 'test-results/reliability/security.json',
  logAudit: 'test-results/reliability/log-audit.json',
  cluster: 'test-results/reliability/cluster.json',
  soak: 'docs/reliability/soak-latest.json',
} as const;

export type InputName = keyof typeof INPUT_FILES;

export function readInput(root: string, file: string): Input {
  const path = join(root, file);
  let raw: string;
  let modified: Date;
  try {
    raw = readFileSync(path, 'utf8');
    modified = statSync(path).mtime;
  } catch {
    return { file, data: undefined, writtenAt: undefined };
  }
  try {
    const data: unknown = JSON.parse(raw);
    const stamp = (data as { generated_at?: unknown; measured_at?: unknown } | null) ?? {};
    const declared = [stamp.generated_at, stamp.measured_at].find((value) => typeof value === 'string');
    return { file, data, writtenAt: typeof declared === 'string' ? declared : modified.toISOString() };
  } catch (error) {
    return {
      file,
      data: undefined,
      writtenAt: modified.toISOString(),
      problem: `not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    };
  }
}

export function readInputs(root: string): Record<InputName, Input> {
  return Object.fromEntries(Object.entries(INPUT_FILES).map(([name, file]) => [name, readInput(root, file)])) as Record<
    InputName,
    Input
  >;
}
