/**
 * `telemetry.otlp` of warden.yaml, as the gateway's config parser hands it over (docs/telemetry.md):
 * where the spans go and the exporter's bounds. Parsed and validated by the mcp layer
 * (src/mcp/config-telemetry.ts); defaults here.
 */
/** How spans are encoded over OTLP/HTTP. */
export type OtlpProtocol = "http/json" | "http/protobuf";
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ["http/json", "http/protobuf"];

export interface OtlpSettings {
  /** The OTLP/HTTP traces URL spans are POSTed to (ends with /v1/traces). */
  readonly url: string;
  /** JSON (default) or protobuf; the protobuf exporter is loaded only when chosen. */
  readonly protocol?: OtlpProtocol;
  /** Extra request headers (a collector's API key); OTEL_EXPORTER_OTLP_HEADERS adds to them. */
  readonly headers: Readonly<Record<string, string>>;
  /** The resource's service.name (default "warden-gateway"). */
  readonly serviceName: string;
  /** One export request's deadline, retries included (default 5000 ms). */
  readonly timeoutMs: number;
  /** Spans waiting to be exported; past it new spans are dropped and counted (default 2048). */
  readonly maxQueue: number;
  /** Spans per export request (default 512). */
  readonly maxBatch: number;
  /** How long a span waits for its batch to fill before it is sent (default 1000 ms). */
  readonly delayMs: number;
}

export const OTLP_DEFAULTS = Object.freeze({
  serviceName: "warden-gateway",
  timeoutMs: 5000,
  maxQueue: 2048,
  maxBatch: 512,
  delayMs: 1000,
});

/** The path OTLP/HTTP receives traces on, appended to a base endpoint. */
export const TRACES_PATH = "/v1/traces";

/**
 * The traces URL of an endpoint as written (the config's `endpoint`, or
 * OTEL_EXPORTER_OTLP_ENDPOINT): a URL already ending with /v1/traces is kept, else /v1/traces is
 * appended to its path, as the OpenTelemetry specification says for the generic endpoint.
 */
export function tracesUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (!u.pathname.endsWith(TRACES_PATH))
    u.pathname = `${u.pathname.replace(/\/+$/, "")}${TRACES_PATH}`;
  return u.toString();
}
