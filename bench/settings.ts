import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The run's settings, read once from the environment (run.ts lists them). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DURATION = Number(process.env.BENCH_DURATION ?? 8);
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
export const SLICE = Number(process.env.BENCH_SLICE ?? 2);
export const CYCLES = Number(process.env.BENCH_CYCLES ?? 20);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** The Node the servers run on (see node-binary.ts): Node 24 LTS unless BENCH_NODE names another. */
export const BENCH_NODE = process.env.BENCH_NODE ?? '24';
/**
 * The Node whose ratios are reported beside, on the main pairs only (BESIDE_PAIRS in pairs.ts):
 * BENCH_BESIDE_NODE, by default the Node running the bench (Node 20 on the machine of
 * docs/PERFORMANCE.md); `none`, or the same version as BENCH_NODE, skips it.
 */
export const BESIDE_NODE = process.env.BENCH_BESIDE_NODE ?? 'machine';
export const JWT_SECRET = 'bench-secret-that-is-long-enough-for-hs256-0123456789';
/** Servers go to core 0 and the load generator to core 1 where `taskset` exists. */
export const HAS_TASKSET = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
/** Where the load generator's scripts go, and the servers' logs on a machine without `/dev/shm` (git ignores it). */
export const SCRATCH_DIR = `${ROOT}bench/tmp`;
/**
 * Where the servers' output goes: memory (tmpfs, `/dev/shm`) where the machine has it, so a
 * log line costs its write into the page cache, as into a pipe to a log shipper, and not the
 * disk's journal commits and writeback, which come and go with the machine, not the server
 * (the logging share read 7% and 31% in two runs of the same code minutes apart, on disk).
 * Each log is emptied before each load, so it holds at most one load's lines.
 */
export const SERVER_LOG_DIR = statSync('/dev/shm', { throwIfNoEntry: false })?.isDirectory()
  ? '/dev/shm/orders-bench'
  : SCRATCH_DIR;
