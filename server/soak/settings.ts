/** The soak's settings, read once from the environment (run.ts lists them). */
export const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
export const RATE = Number(process.env.SOAK_RATE ?? 20);
export const CUSTOMERS = Number(process.env.SOAK_CUSTOMERS ?? Math.max(40, Math.ceil(RATE * 1.5)));
export const GATEWAY_LATENCY_MS = Number(process.env.SOAK_GATEWAY_LATENCY_MS ?? 20);
export const SEED = Number(process.env.SOAK_SEED ?? 1);
/** The first part of the run, when RSS still grows as code warms up and pools fill. */
export const WARMUP_SECONDS = Math.max(10, Math.round(SECONDS * 0.1));
export const PLENTIFUL_PRODUCTS = 12;
export const SCARCE_PRODUCTS = 2;
export const SCARCE_STOCK = 25;

/** A line of progress on stdout. */
export function log(message: string): void {
  process.stdout.write(`soak: ${message}\n`);
}
