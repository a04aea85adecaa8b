import { buildServer } from '../server/test/start-command.ts';
import { JWT_SECRET, ROOT } from './settings.ts';

export interface ServerSpec {
  name: string;
  script: string;
  env: Record<string, string>;
  /**
   * Another server whose scenarios this one is also driven through, unmeasured, in every round
   * (each for the warm-up's length), so that both have served the same routes when they are
   * compared. A server that has served other routes runs any one of them slower (its
   * optimised code has seen more shapes): measured at 8% on `system.ping` with logging off.
   */
  shadows?: string;
}

/** The service `pnpm start` runs: the output of `pnpm build`, built at the start of each run. */
export const SERVICE = 'server/dist/main.js';

export function buildService(): void {
  const build = buildServer(ROOT);
  if (build.status !== 0) throw new Error(`pnpm build failed:\n${build.stderr}`);
}

/** Where the metrics-on service serves /metrics (unscraped during the run: the cost measured is keeping the series). */
const METRICS_PORT = '4199';

/** Every server a scenario can run on: the baselines (bench/servers/) and the service, configured six ways. */
export function servers(databaseUrl: string, { otlpUrl }: { otlpUrl: string }): ServerSpec[] {
  const database = { DATABASE_URL: databaseUrl, JWT_SECRET };
  // Production mode, every line at info and up, written (with stdout) to a file (see SERVER_LOG_DIR).
  const service = {
    ...database,
    NODE_ENV: 'production',
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'info',
    PANEL_ENABLED: 'false',
    RATE_LIMIT_PER_IP: '1000000',
  };
  return [
    { name: 'bare', script: 'bench/servers/bare-http.ts', env: {} },
    { name: 'floor', script: 'bench/servers/floor.ts', env: database },
    { name: 'trpc', script: 'bench/servers/official-trpc.ts', env: {} },
    { name: 'service', script: SERVICE, env: service },
    { name: 'service-official', script: SERVICE, env: { ...service, HTTP_ADAPTER: 'official' } },
    // Only errors are logged: the difference to `service` is what the info lines cost.
    { name: 'service-quiet', script: SERVICE, env: { ...service, LOG_LEVEL: 'error' }, shadows: 'service' },
    // Every request traced (sampling 1.0) and exported over OTLP/HTTP (protobuf) to bench/otlp-sink.ts.
    {
      name: 'service-traced',
      script: SERVICE,
      env: { ...service, OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, OTEL_TRACES_SAMPLER: 'always_on' },
      shadows: 'service',
    },
    { name: 'service-metrics', script: SERVICE, env: { ...service, METRICS_PORT }, shadows: 'service' },
  ];
}
