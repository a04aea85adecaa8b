/**
 * Whether traces are exported, read from the standard OpenTelemetry variables: an OTLP endpoint
 * (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT`), not disabled by
 * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. Everything else (sampler, headers,
 * timeouts, resource attributes) the SDK and its exporter read themselves.
 */
export interface TracingSettings {
  protocol: 'http/protobuf' | 'http/json';
  serviceName: string;
}

type Env = Record<string, string | undefined>;

const PROTOCOLS = new Set(['http/protobuf', 'http/json']);

export class TracingConfigError extends Error {
  override name = 'TracingConfigError';
}

/** The settings when tracing is on, undefined when it is off; throws on a protocol this service cannot speak. */
export function tracingSettings(env: Env): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!endpoint) return undefined;
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    'http/protobuf'
  ).trim();
  if (!PROTOCOLS.has(protocol)) {
    throw new TracingConfigError(
      `OTEL_EXPORTER_OTLP_PROTOCOL: must be http/protobuf or http/json (got ${JSON.stringify(protocol.slice(0, 40))})`,
    );
  }
  return {
    protocol: protocol as TracingSettings['protocol'],
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'orders-service',
  };
}
